/** The installed package's version: `--version`, and `status --json`. */
import { createRequire } from "node:module";

// By the package's own name (package.json exports "./package.json"; Node resolves a package's
// name from inside it through its exports: https://nodejs.org/api/packages.html#self-referencing-a-package-using-its-name),
// not a relative path: this module runs from cli/ in the repository and from dist/cli/ installed.
export const VERSION = (createRequire(import.meta.url)("bucket-ledger/package.json") as { version: string }).version;
