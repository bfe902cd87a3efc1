/**
 * Personal data in the stack, under Pulumi mocks: the `origin` setting reaches the tracker, a
 * public API withholds personal data and `pulumi up` says what it serves, and the API's access
 * log names the caller's source IP.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BucketLedgerConfigError, resolveBucketLedgerArgs, type BucketLedgerArgs } from "../../infra/args.js";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { PUBLIC_API_WARNING } from "../../infra/query-api.js";
import { argsFromStackConfig } from "../../infra/stack-config.js";
import { installMocks, resolve, type RecordedResource } from "./mocks.js";

const recorded = installMocks();
beforeEach(() => {
  recorded.length = 0;
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function deploy(args: BucketLedgerArgs): Promise<RecordedResource[]> {
  const ledger = new BucketLedger("ledger", args);
  await resolve(pulumi.all([ledger.outputs.tableName, ledger.outputs.trackerFunctionName, ledger.outputs.apiEndpoint ?? pulumi.output("")]));
  await new Promise((r) => setTimeout(r, 200));
  return [...recorded];
}

const variablesOf = (resources: RecordedResource[], nameIncludes: string) => {
  const fns = resources.filter((resource) => resource.type === "aws:lambda/function:Function" && resource.name.includes(nameIncludes));
  expect(fns).toHaveLength(1);
  return (fns[0]!.inputs.environment as { variables: Record<string, string> }).variables;
};

describe("the origin setting", () => {
  it("is principal unless configured, and reaches the tracker", async () => {
    expect(variablesOf(await deploy({ createBucket: {} }), "tracker").ORIGIN).toBe("principal");
    recorded.length = 0;
    expect(variablesOf(await deploy({ createBucket: {}, origin: "none" }), "tracker").ORIGIN).toBe("none");
  });

  it("is checked with every other configuration problem at once", () => {
    const args = argsFromStackConfig({ origin: "everything", retentionDays: "0" });
    let error: unknown;
    try {
      resolveBucketLedgerArgs(args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BucketLedgerConfigError);
    expect((error as Error).message).toMatch(/origin must be one of full, principal, none/);
    expect((error as Error).message).toMatch(/retentionDays/);
  });
});

describe("a public query API", () => {
  it("withholds personal data and says at pulumi up what it serves", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    const resources = await deploy({ createBucket: {}, api: { enabled: true, authorization: "none" } });
    expect(variablesOf(resources, "api-function").SERVE_PERSONAL_DATA).toBe("false");
    expect(warn).toHaveBeenCalledWith(PUBLIC_API_WARNING, expect.anything());
    expect(PUBLIC_API_WARNING).toMatch(/requester, source IP, request id\), user metadata, tags and KMS key ARNs are withheld/);
  });

  it("behind IAM serves all and warns nothing", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    const resources = await deploy({ createBucket: {}, api: { enabled: true } });
    expect(variablesOf(resources, "api-function").SERVE_PERSONAL_DATA).toBe("true");
    expect(warn.mock.calls.filter(([message]) => message === PUBLIC_API_WARNING)).toEqual([]);
  });

  it("logs each caller's source IP in the access log", async () => {
    const resources = await deploy({ createBucket: {}, api: { enabled: true, authorization: "none" } });
    const stage = resources.find((resource) => resource.type === "aws:apigatewayv2/stage:Stage")!;
    const format = JSON.parse((stage.inputs.accessLogSettings as { format: string }).format) as Record<string, string>;
    expect(format.sourceIp).toBe("$context.identity.sourceIp");
  });
});
