#!/usr/bin/env node
// npm links this file as node_modules/.bin/bucket-ledger (package.json "bin":
// https://docs.npmjs.com/cli/v11/configuring-npm/package-json#bin). The installed package runs
// the compiled CLI (dist/) and needs no TypeScript loader: it holds bin/ and dist/ only, beside
// the package.json and README npm always packs (package.json "files":
// https://docs.npmjs.com/cli/v11/configuring-npm/package-json#files). A checkout of the
// repository has the TypeScript sources beside this file and runs them through tsx, a dev
// dependency, so what developers and the tests run is always the source, never a stale build.
import { existsSync } from "node:fs";

// The AWS SDK warns on every run under Node 20, which the package still supports (engines).
if (process.versions.node.startsWith("20.")) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

if (existsSync(new URL("../cli/main.ts", import.meta.url))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/main.ts");
} else {
  await import("../dist/cli/main.js");
}
