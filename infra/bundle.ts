/**
 * Bundles a Lambda entry point from functions/ with esbuild while the Pulumi program runs, so
 * `pulumi up` needs no separate build step and any change to function code (or to what it
 * imports) changes the archive and so the deployed code hash.
 */
import { buildSync } from "esbuild";
import { fileURLToPath } from "node:url";

export const FUNCTIONS_DIR = fileURLToPath(new URL("../functions/", import.meta.url));

/** The handler string Lambda needs for a bundle built here. */
export const BUNDLE_HANDLER = "index.handler";
export const BUNDLE_FILE = "index.mjs";

const cache = new Map<string, string>();

/** Returns the bundled ES module source of `functions/<name>.ts`. */
export function bundleFunction(name: string): string {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const result = buildSync({
    entryPoints: [`${FUNCTIONS_DIR}${name}.ts`],
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
