#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so the installed package needs no build step.
import { register } from "tsx/esm/api";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= process.versions.node.startsWith("20.") ? "true" : undefined;
register();
await import("../cli/main.ts");
