/** The installed package's version: `--version`, and `status --json`. */
import { createRequire } from "node:module";

// By the package's own name (package.json exports "./package.json"), not a relative path: this
// module runs from cli/ in the repository and from dist/cli/ in the installed package.
export const VERSION = (createRequire(import.meta.url)("bucket-ledger/package.json") as { version: string }).version;
