// The subpath export `readstate/client` points at what `npm run build` emits for src/client, with
// its types, and "." still names the package's main entry.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

/** ./dist/src/x/index.js (or .d.ts) → src/x/index.ts, the file tsc builds it from. */
function source(built: string): string {
  return built.replace(/^\.\/dist\//, "").replace(/(\.d)?\.ts$|\.js$/, ".ts");
}

describe("package exports", () => {
  it('maps "./client" to the built client with types, and keeps "." as main/types', () => {
    const client = pkg.exports["./client"];
    expect(client).toEqual({ types: "./dist/src/client/index.d.ts", default: "./dist/src/client/index.js" });
    expect(existsSync(new URL(`../../${source(client.default)}`, import.meta.url))).toBe(true);
    expect(existsSync(new URL(`../../${source(client.types)}`, import.meta.url))).toBe(true);
    expect(pkg.exports["."]).toEqual({ types: `./${pkg.types}`, default: `./${pkg.main}` });
  });

  it("the client imports nothing of the server at run time", () => {
    for (const file of ["index.ts", "sse.ts"]) {
      const text = readFileSync(new URL(`../../src/client/${file}`, import.meta.url), "utf8");
      const runtime = [...text.matchAll(/^import (?!type )[^;]*?from "([^"]+)"/gms)].map((m) => m[1]);
      expect(
        runtime.every((spec) => spec === "./sse.js"),
        `${file}: ${runtime}`,
      ).toBe(true);
    }
  });
});
