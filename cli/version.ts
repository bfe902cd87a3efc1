/** The installed package's version: `--version`, and `status --json`. */
import { createRequire } from "node:module";

export const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
