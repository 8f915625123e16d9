// tsc copies no .lua or .sql files; the built code loads them next to itself.
import { cpSync } from "node:fs";

for (const dir of ["src/redis/scripts", "src/postgres/migrations"]) {
  cpSync(dir, `dist/${dir}`, { recursive: true });
}
