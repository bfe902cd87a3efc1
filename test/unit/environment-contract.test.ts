/**
 * The environment contract between infra/ (which sets the variables) and functions/ (which
 * parses them): the types reject a misspelt or missing variable at `tsc` time, and the README's
 * table names every variable each function reads.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseApiEnvironment,
  parseIngestEnvironment,
  parseReconcileEnvironment,
  parseTrackerEnvironment,
  type ReconcileVariables,
  type TrackerVariables,
} from "../../functions/environment.js";

describe("the function environment contract", () => {
  it("is checked by the type checker", () => {
    const complete = {
      TABLE_NAME: "ledger",
      BUCKETS: '["photos"]',
      TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/tasks",
    } satisfies ReconcileVariables;
    // @ts-expect-error a misspelt variable is not in the contract
    const misspelt: TrackerVariables = { TABLE_NAME: "ledger", WRITE_CONCURENCY: "8" };
    // @ts-expect-error TASK_QUEUE_URL is required
    const incomplete: ReconcileVariables = { TABLE_NAME: "ledger", BUCKETS: '["photos"]' };
    expect(parseReconcileEnvironment(complete)).toMatchObject({ TASKS_PER_RUN: 16, MAX_DELETE_FRACTION: 0.1 });
    expect([misspelt, incomplete]).toHaveLength(2);
  });

  it("is the one the README documents", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const documented = (where: string) =>
      new Set(
        readme
          .split("\n")
          .filter((line) => line.startsWith(`| ${where} Lambda env |`))
          .flatMap((line) => [...line.split("|")[2]!.matchAll(/`([A-Z_]+)`/g)].map((match) => match[1]!)),
      );
    const read = (parse: (env: NodeJS.ProcessEnv) => object, env: NodeJS.ProcessEnv) => new Set(Object.keys(parse(env)));
    const base = {
      TABLE_NAME: "ledger",
      BUCKETS: '["photos"]',
      TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/tasks",
      INVENTORY_BUCKET: "inventory",
      INGEST_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/ingest.fifo",
    };
    expect(documented("tracker")).toEqual(read(parseTrackerEnvironment, base));
    const reconcile = documented("reconcile");
    for (const name of ["TABLE_NAME", "RETENTION_DAYS"]) reconcile.add(name);
    expect(reconcile).toEqual(read(parseReconcileEnvironment, base));
    expect(documented("API")).toEqual(read(parseApiEnvironment, base));
    expect(documented("ingest")).toEqual(read(parseIngestEnvironment, base));
  });
});
