/**
 * The direction of the code's layers, checked by dependency-cruiser on every `npm run lint`
 * (so on every `npm test`). From the bottom up:
 *
 *   foundation/                generic helpers (ordering, streams, budgets, errors): import nothing from the project
 *   validation/, aws/, observability/   schema helpers, AWS adapters (SDK calls, S3's key encoding), metrics and logs: only foundation/
 *   events/                    what S3 says happened (and the vocabulary of what it can say of an object)
 *   ledger/                    the index and its journal
 *   s3/                        what S3 says of one object now (HeadObject, tags), in the ledger's terms
 *   ingest/                    ingestion (the tracker forwards to it, reconciliation audits it)
 *   tracker/, reconcile/, api/ the three services, none importing another
 *   rollback/                  a prefix back to a past moment: the plan from the ledger, carried out in S3 (beside the services)
 *   stream/                    the change stream's message and publisher (beside the services)
 *   functions/                 the Lambda entry points and their settings
 *   infra/ (and index.ts), local/   the Pulumi program; the local stack
 *   cli/, bench/               the command line (its `dev` runs the local stack); benchmarks
 *   test/                      anything
 *
 * A folder may import its own and the folders listed for it below, never one above or beside
 * it. Every rule counts type-only imports too: a type still ties two folders together. A new
 * top-level folder fails the lint until it is given its place here.
 *
 * Known violations (the tree as issue 25 found it) are listed, with why and what removes each, in
 * .dependency-cruiser-known-violations.json; `npm run lint` ignores exactly those, so any NEW
 * arrow fails. Delete an entry when its move lands.
 */

/** Project modules (not packages; Node's own are told apart by dependency type). */
const PROJECT = "^(?!node_modules/)(?:[a-z-]+/|[a-z-]+\\.ts$)";

/** The bottom layers: what every domain folder may import. */
const BOTTOM = ["foundation", "validation", "aws", "observability"];

/** Each folder, with what it may import besides itself. */
const LAYERS = [
  ["foundation", []],
  ["validation", ["foundation"]],
  ["aws", ["foundation"]],
  ["observability", ["foundation"]],
  ["events", BOTTOM],
  ["ledger", [...BOTTOM, "events"]],
  ["s3", [...BOTTOM, "events", "ledger"]],
  ["ingest", [...BOTTOM, "events", "ledger", "s3"]],
  ["tracker", [...BOTTOM, "events", "ledger", "s3", "ingest"]],
  ["reconcile", [...BOTTOM, "events", "ledger", "s3", "ingest"]],
  ["api", [...BOTTOM, "events", "ledger", "s3"]],
  ["rollback", [...BOTTOM, "events", "ledger", "s3"]],
  ["stream", [...BOTTOM, "events", "ledger"]],
  ["functions", [...BOTTOM, "events", "ledger", "s3", "ingest", "tracker", "reconcile", "api", "stream"]],
];

/** Top-level folders with no code of the layers. */
const OTHERS = ["infra", "local", "cli", "bench", "test", "bin", "scripts", "docs", "examples"];

/** The code below the Pulumi program, the local stack and the tools: all of it may go into a Lambda bundle. */
const LAMBDA_FOLDERS = LAYERS.map(([folder]) => folder);

const layerRules = LAYERS.map(([folder, below]) => ({
  name: `layer-${folder}`,
  comment: `${folder}/ imports only ${below.length ? below.map((f) => `${f}/`).join(", ") : "nothing from the project"} (and itself): see the layers at the top of .dependency-cruiser.mjs.`,
  severity: "error",
  from: { path: `^${folder}/` },
  to: { path: PROJECT, pathNot: `^(?:${[folder, ...below].join("|")})/`, dependencyTypesNot: ["core"] },
}));

/**
 * The stack configuration's keys and rules (pure: no Pulumi), which `bucket-ledger dev` reads a
 * Pulumi.<stack>.yaml with, so the local stack refuses what `pulumi up` would (local/stack-config-file.ts).
 */
const STACK_CONFIG_SCHEMA = "^infra/(?:args|stack-config)\\.ts$";

/** Top-level folders only their own kind imports. */
const TOOLS = [
  ["infra", "^(?:infra/|index\\.ts$|local/stack-config-file\\.ts$|test/)"],
  ["local", "^(?:local/|cli/|bench/|test/)"],
  ["cli", "^(?:cli/|bin/|scripts/|test/)"],
  ["bench", "^bench/"],
  ["test", "^test/"],
];

const toolRules = TOOLS.map(([folder, importers]) => ({
  name: `only-its-kind-imports-${folder}`,
  comment: `${folder}/ is imported only by ${importers}: nothing below it depends on it.`,
  severity: "error",
  from: { pathNot: importers },
  to: { path: `^${folder}/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      comment: "Modules that import each other (directly or round a longer circle) cannot be understood, tested or moved apart.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-pulumi-in-lambda-folders",
      comment: "Lambda code stays deployable on its own: it never pulls in the Pulumi engine.",
      severity: "error",
      from: { path: `^(?:${LAMBDA_FOLDERS.join("|")})/` },
      to: { path: "^node_modules/@pulumi/" },
    },
    {
      name: "no-pulumi-reachable-from-a-lambda-entry",
      comment:
        "What a Lambda bundle holds is what its entry point (functions/<name>.ts, bundled by infra/bundle.ts) reaches: none of it may reach @pulumi/*, through any folder.",
      severity: "error",
      from: { path: "^functions/[^/]+\\.ts$" },
      to: { path: "^node_modules/@pulumi/", reachable: true },
    },
    {
      name: "no-pulumi-reachable-from-the-local-stack-or-the-cli",
      comment: "`bucket-ledger dev` and the CLI run without the Pulumi engine: what they reach of infra/ (the stack configuration's schema) stays pure.",
      severity: "error",
      from: { path: "^(?:local|cli)/" },
      to: { path: "^node_modules/@pulumi/", reachable: true },
    },
    {
      name: "dev-reads-only-the-stack-config-schema",
      comment: "local/stack-config-file.ts imports of infra/ only the stack configuration's schema, nothing that builds resources.",
      severity: "error",
      from: { path: "^local/stack-config-file\\.ts$" },
      to: { path: "^infra/", pathNot: STACK_CONFIG_SCHEMA },
    },
    ...layerRules,
    ...toolRules,
    {
      name: "folder-has-a-place",
      comment: "Every top-level folder is placed in the layers of .dependency-cruiser.mjs (LAYERS, or OTHERS for the tools), so its imports are checked.",
      severity: "error",
      from: { path: "^[^/]+/", pathNot: `^(?:${[...LAMBDA_FOLDERS, ...OTHERS].join("|")})/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "^node_modules/" },
    exclude: { path: "^(?:dist|coverage|reports|\\.[^/]+)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
  },
};
