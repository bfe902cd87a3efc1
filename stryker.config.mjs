// Mutation testing of the unit tier (`npm run mutate`): how many of the decisions in events/,
// ledger/, reconcile/ and foundation/ the fast tests alone would catch breaking. Not part of `npm test` (it
// takes tens of minutes). On a shared machine measure one folder at a time:
//   npm run mutate -- --mutate 'events/**/*.ts'
// Incremental: a run re-tests only the mutants whose code or covering tests changed since the
// last one (reports/stryker-incremental.json, not committed).
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.unit.config.ts" },
  // foundation/ holds the generic helpers that left ledger/ and reconcile/ (merge, read-ahead, UTF-8 order, bounded writer).
  // rollback/: its pure decisions only (what talks to S3 is tested against the local S3).
  mutate: ["events/**/*.ts", "ledger/**/*.ts", "reconcile/**/*.ts", "foundation/**/*.ts", "rollback/{decide,guard,manifest,summary}.ts"],
  coverageAnalysis: "perTest",
  concurrency: 1,
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  // The sandbox copy needs the sources, tests and docs (reference tables are checked), not the build, local data or reports.
  ignorePatterns: ["dist", ".bucket-ledger", "coverage", "reports", "bench"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
