/** What `pulumi up` does before any AWS call: load index.ts, bundle the functions. */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGED_CONFIG_FILE } from "../../functions/settings/contract.js";
import { BUNDLE_FILE, bundleFunction } from "../../infra/bundle.js";

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("function bundles", () => {
  it.each([
    ["tracker", { TABLE_NAME: "ledger-table", BUCKETS: '["photos"]' }],
    ["reconcile", { TABLE_NAME: "ledger-table", BUCKETS: '["photos"]', TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/tasks" }],
    ["api", { TABLE_NAME: "ledger-table", BUCKETS: '["photos"]' }],
  ])("bundles %s with esbuild and its handler loads from the built artifact", async (name, env) => {
    const code = bundleFunction(name);
    expect(code).not.toMatch(/@pulumi\//);
    const directory = await mkdtemp(join(tmpdir(), `bundle-${name}-`));
    directories.push(directory);
    const file = join(directory, BUNDLE_FILE);
    await writeFile(file, code);
    Object.assign(process.env, env);
    const module = (await import(pathToFileURL(file).href)) as { handler: unknown };
    expect(typeof module.handler).toBe("function");
  });

  it("rejects a tracker environment without a table, at cold start", async () => {
    const directory = await mkdtemp(join(tmpdir(), "bundle-env-"));
    directories.push(directory);
    await writeFile(join(directory, BUNDLE_FILE), bundleFunction("tracker"));
    const result = spawnSync(process.execPath, ["-e", `import(${JSON.stringify(pathToFileURL(join(directory, BUNDLE_FILE)).href)})`], {
      env: { PATH: process.env.PATH, AWS_REGION: "us-east-1" },
      encoding: "utf8",
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/invalid tracker environment: TABLE_NAME/);
  });
});

describe("the packaged configuration beside a bundle", () => {
  const load = (directory: string, env: Record<string, string>) =>
    spawnSync(process.execPath, ["-e", `import(${JSON.stringify(pathToFileURL(join(directory, BUNDLE_FILE)).href)})`], {
      env: { PATH: process.env.PATH, AWS_REGION: "us-east-1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
      encoding: "utf8",
    });

  it("is read at cold start from the function's package directory, so the environment need not hold the buckets", async () => {
    const directory = await mkdtemp(join(tmpdir(), "bundle-packaged-"));
    directories.push(directory);
    await writeFile(join(directory, BUNDLE_FILE), bundleFunction("reconcile"));
    const env = { TABLE_NAME: "ledger-table", TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/tasks" };
    const without = load(directory, env);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toMatch(/invalid reconcile environment: BUCKETS/);
    await writeFile(join(directory, PACKAGED_CONFIG_FILE), JSON.stringify({ BUCKETS: ["photos"] }));
    const withFile = load(directory, env);
    expect(withFile.stderr).toBe("");
    expect(withFile.status).toBe(0);
  });
});

describe("the Pulumi program", () => {
  it("loads through ts-node's ESM loader with the project's tsconfig, as pulumi up runs it", () => {
    const result = spawnSync(process.execPath, ["--no-warnings", "--loader", "ts-node/esm", "test/infra/pulumi-entry.ts"], {
      cwd: new URL("../..", import.meta.url),
      env: { ...process.env, TS_NODE_PROJECT: "tsconfig.json" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      tableName: expect.any(String),
      queueUrl: expect.stringContaining("bucket-ledger-events"),
      scheduleName: expect.any(String),
    });
  }, 90_000);
});
