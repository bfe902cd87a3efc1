/**
 * A stack adopting buckets in another Region than its own, run as `pulumi up` runs a program:
 * in a process of its own, whose failures are the refusal under test (test/infra/encryption-and-regions.test.ts).
 * Prints the distinct errors the program failed with and the resources wired to an adopted bucket.
 */
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { installMocks, mockCloud } from "./mocks.js";

const errors = new Set<string>();
// The engine reports each failed registration; here they are collected instead.
process.on("unhandledRejection", (error) => errors.add(String((error as Error).message ?? error)));

const recorded = installMocks();
Object.assign(mockCloud, { bucketRegions: { "photos-eu": "eu-west-1", "logs-ap": "ap-southeast-2" } });
new BucketLedger("ledger", { adoptBuckets: [{ name: "photos-eu" }, { name: "logs-ap" }, { name: "here-bucket" }], delivery: "eventbridge" });
await new Promise((resolve) => setTimeout(resolve, 3_000));
const wired = recorded
  .filter((resource) => /arn:aws:s3:::(photos-eu|logs-ap|here-bucket)/.test(JSON.stringify(resource.inputs)))
  .map((resource) => resource.name);
process.stdout.write(`${JSON.stringify({ errors: [...errors], wired })}\n`);
process.exit(0);
