#!/usr/bin/env node
// The installed package runs the compiled CLI (dist/), and needs no TypeScript loader. A checkout
// of the repository has the TypeScript sources beside this file (the package ships none: see
// package.json "files") and runs them through tsx, a dev dependency, so what developers and the
// tests run is always the source, never a stale build.
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
