// tsc copies no .lua, .sql or page files; the built code loads them next to itself.
import { cpSync } from "node:fs";

for (const dir of ["src/redis/scripts", "src/postgres/migrations", "src/http/pages"]) {
  cpSync(dir, `dist/${dir}`, { recursive: true });
}
