/**
 * Bundles a Lambda entry point from functions/ with esbuild while the Pulumi program runs, so
 * `pulumi up` needs no separate build step and any change to function code (or to what it
 * imports) changes the archive and so the deployed code hash.
 */
import { buildSync } from "esbuild";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

export const FUNCTIONS_DIR = fileURLToPath(new URL("../functions/", import.meta.url));

/**
 * The entry points beside this module are what it was loaded as: TypeScript in the repository
 * (the program runs through ts-node, tests through vitest), the compiled JavaScript of dist/ in
 * the installed package, which ships no TypeScript sources.
 */
const ENTRY_EXTENSION = extname(fileURLToPath(import.meta.url));

/** The handler string Lambda needs for a bundle built here. */
export const BUNDLE_HANDLER = "index.handler";
export const BUNDLE_FILE = "index.mjs";

const cache = new Map<string, string>();

/** Returns the bundled ES module source of `functions/<name>.ts` (or its compiled `.js`). */
export function bundleFunction(name: string): string {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const result = buildSync({
    entryPoints: [`${FUNCTIONS_DIR}${name}${ENTRY_EXTENSION}`],
    bundle: true,
    write: false,
    platform: "node",
    target: "node22",
    format: "esm",
    // Bundled CommonJS dependencies call require() for Node built-ins; give ESM one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    // The AWS SDK is bundled too: the runtime's copy changes under us without notice.
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.text;
  cache.set(name, code);
  return code;
}
