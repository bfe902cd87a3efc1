// `npm run build`: dist/ as the package ships it. Starts from an empty dist/, so a module that
// moved or went away in the sources does not linger in the tarball; then compiles
// (tsconfig.build.json) and copies what the compiled code reads beside itself at run time.
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(new URL("../dist/", import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
// DynamoDB Local's loopback launcher, run by `java` from beside local/dynamodb-local.js.
cpSync(new URL("../local/java/", import.meta.url), new URL("../dist/local/java/", import.meta.url), { recursive: true });
