// `npm start`'s prestart: build dist/ when it is missing or older than a source file, so a fresh clone's
// `npm ci && npm start` and a developer's edit both run current code, and a start with nothing changed
// costs no compile.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const stamp = "dist/src/cli/main.js";
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const sources = Math.max(newest("src"), statSync("package.json").mtimeMs, statSync("tsconfig.json").mtimeMs);
if (built < sources) {
  process.stderr.write("readstate: building dist/ (npm run build)\n");
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
}
