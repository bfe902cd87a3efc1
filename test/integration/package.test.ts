/**
 * The package as a user gets it: `npm pack` of the working tree, installed with npm into an
 * empty directory, then the CLI run from there (`--version`, `ls --local`, `dev`), both entry
 * points imported, and the example program type-checked and run under Pulumi's mocks against it.
 *
 * The tree is packed from a copy, so the real `npm pack` (its prepack build and the `files`
 * whitelist) never writes dist/ under a test that builds there too. The install is offline: the
 * consumer's lockfile pins each dependency to the version the repository's lockfile holds, so
 * npm needs nothing but the cache `npm ci` filled.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, readFileSync, symlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { spawnUntilReady } from "../support/cli.js";
import { runCommand, type RunResult } from "../support/run.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What stays out of the copy that is packed: installed, built or scratch, never a source. */
const NOT_COPIED = new Set(["node_modules", ".git", "dist", ".stryker-tmp", "reports", "coverage", ".bucket-ledger"]);

interface PackedFile {
  path: string;
}
interface PackResult {
  filename: string;
  files: PackedFile[];
}
interface Manifest {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
  scripts?: Record<string, string>;
}

const HAS_JAVA = spawnSync("java", ["-version"]).status === 0;

let work: string;
let consumer: string;
let packed: PackResult;
let manifest: Manifest;

/** The user's environment, without what `npm test` adds for its own scripts (npm_* variables). */
function userEnvironment(): Record<string, string | undefined> {
  const kept = new Set(["npm_config_cache", "npm_config_userconfig"]);
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_") || kept.has(name)));
}

async function run(command: string, args: string[], cwd: string): Promise<RunResult> {
  const result = await runCommand(command, args, { cwd, env: userEnvironment() });
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.code}:\n${result.stderr}\n${result.stdout}`);
  return result;
}

/** The installed CLI, as `npx` finds it: node_modules/.bin of the consumer. */
const installedCli = () => join(consumer, "node_modules", ".bin", "bucket-ledger");

/**
 * A lockfile for a project that depends on the tarball alone: the package itself, and every
 * package the repository's lockfile holds for production (not `dev`), at the same place in
 * node_modules.
 */
function consumerLockfile(tarball: string): unknown {
  const repository = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { "bucket-ledger": `file:${tarball}` } },
    "node_modules/bucket-ledger": {
      version: manifest.version,
      resolved: `file:${tarball}`,
      integrity: `sha512-${createHash("sha512")
        .update(readFileSync(join(consumer, tarball)))
        .digest("base64")}`,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(repository.packages)) {
    if (path.startsWith("node_modules/") && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: "consumer", lockfileVersion: 3, requires: true, packages };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "bucket-ledger-package-"));
  const tree = join(work, "tree");
  cpSync(ROOT, tree, {
    recursive: true,
    filter: (source) => !(NOT_COPIED.has(basename(source)) && source.startsWith(ROOT) && !source.slice(ROOT.length).includes("/")),
  });
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"), "dir");
  const pack = await run("npm", ["pack", "--json", "--pack-destination", work], tree);
  packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;

  consumer = join(work, "consumer");
  await mkdir(consumer);
  cpSync(join(work, packed.filename), join(consumer, packed.filename));
  const extracted = spawnSync("tar", ["-xzOf", join(consumer, packed.filename), "package/package.json"], { encoding: "utf8" });
  manifest = JSON.parse(extracted.stdout) as Manifest;
  await writeFile(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { "bucket-ledger": `file:${packed.filename}` } }),
  );
  await writeFile(join(consumer, "package-lock.json"), JSON.stringify(consumerLockfile(packed.filename)));
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund"], consumer);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("ships what a user runs: the bin, dist/ (no sources, tests, benchmarks or config), the launcher Java needs", () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toContain("bin/bucket-ledger.js");
    expect(paths).toContain("dist/cli/main.js");
    expect(paths).toContain("dist/ledger/index.d.ts");
    expect(paths).toContain("dist/infra/index.d.ts");
    expect(paths).toContain("dist/functions/tracker.js");
    expect(paths).toContain("dist/local/java/LoopbackDynamoDbLocal.java");
    expect(paths.filter((path) => !/^(?:bin|dist)\//.test(path)).sort()).toEqual(["README.md", "package.json"]);
    expect(paths.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))).toEqual([]);
  });

  it("runs nothing at install", () => {
    // npm runs a dependency's preinstall, install and postinstall scripts when it installs it
    // (https://docs.npmjs.com/cli/v11/using-npm/scripts#life-cycle-operation-order); prepare and
    // prepack run only where the package is built (this checkout, `npm pack`, a git install).
    const scripts = manifest.scripts ?? {};
    expect(Object.keys(scripts).filter((name) => ["preinstall", "install", "postinstall"].includes(name))).toEqual([]);
  });

  it("keeps the repository's Pulumi program its own: Pulumi.yaml names index.ts", () => {
    // Without `main`, Pulumi's Node.js host would run package.json's exports["."] (the typed client).
    expect((parseYaml(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { main?: string }).main).toBe("index.ts");
  });
});

describe("the CLI, installed in an empty directory", () => {
  it("prints its version through npx", async () => {
    const result = await run("npx", ["--no", "--", "bucket-ledger", "--version"], consumer);
    expect(result.stdout.trim()).toBe(manifest.version);
  });

  it("says no local stack is running, with exit code 2", async () => {
    const result = await runCommand(installedCli(), ["ls", "photos", "--local"], { cwd: consumer, env: userEnvironment() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no local stack found");
    expect(result.stderr).toContain("bucket-ledger dev");
  });

  it.skipIf(!HAS_JAVA)("starts the local stack with dev, serves ls --local from it, and stops on SIGINT", async () => {
    const { child, ready: readyLine, exited } = spawnUntilReady(installedCli(), ["dev", "--bucket", "photos"], { cwd: consumer, env: userEnvironment() });
    try {
      const firstLine = await readyLine;
      expect(JSON.parse(firstLine)).toMatchObject({ ready: true, buckets: ["photos"] });
      const listed = await runCommand(installedCli(), ["ls", "photos", "--local"], { cwd: consumer, env: userEnvironment() });
      expect(listed).toMatchObject({ code: 0, stdout: "" });
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  });
});

describe("the entry points, imported from the installed package", () => {
  it("resolves the typed client (bucket-ledger) and the component (bucket-ledger/pulumi)", async () => {
    const script = `const client = await import("bucket-ledger");
const component = await import("bucket-ledger/pulumi");
console.log(JSON.stringify({ Ledger: typeof client.Ledger, BucketLedger: typeof component.BucketLedger, argsFromStackConfig: typeof component.argsFromStackConfig }));`;
    const result = await run(process.execPath, ["--input-type=module", "-e", script], consumer);
    expect(JSON.parse(result.stdout)).toEqual({ Ledger: "function", BucketLedger: "function", argsFromStackConfig: "function" });
  });

  it("type-checks the example program against the package's types, and runs it under Pulumi's mocks, bundling each function", async () => {
    const example = join(consumer, "example");
    cpSync(join(ROOT, "examples", "component"), example, { recursive: true });
    await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", example, "--outDir", join(example, "built")], consumer);

    const mocks = `import * as pulumi from "@pulumi/pulumi";
const functions = [];
const arn = (type, name) => "arn:aws:" + type.split(":")[1].split("/")[0] + ":us-east-1:123456789012:" + name;
pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      if (args.type === "aws:lambda/function:Function") functions.push(args.inputs.code);
      return { id: args.name + "-id", state: { ...args.inputs, name: args.inputs.name ?? args.name, arn: arn(args.type, args.name), url: "https://sqs.us-east-1.amazonaws.com/123456789012/" + args.name } };
    },
    call: (args) => {
      if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:root", userId: "mock" };
      if (args.token === "aws:index/getRegion:getRegion") return { region: "us-east-1", name: "us-east-1", id: "us-east-1" };
      if (args.token === "aws:index/getPartition:getPartition") return { partition: "aws", id: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
      if (args.token === "aws:s3/getBucket:getBucket") return { id: args.inputs.bucket, bucket: args.inputs.bucket, arn: "arn:aws:s3:::" + args.inputs.bucket, bucketRegion: "us-east-1", region: "us-east-1" };
      throw new Error("unmocked invoke " + args.token);
    },
  },
  "uploads-ledger",
  "test",
  false,
);
const program = await import("./built/index.js");
const tableName = await new Promise((resolve) => program.tableName.apply(resolve));
for (let waited = 0; functions.length < 2 && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
const bundles = await Promise.all(functions.map(async (code) => (await (await code.assets)["index.mjs"].text).length));
console.log(JSON.stringify({ tableName: typeof tableName, bundles }));`;
    await writeFile(join(example, "mocked.mjs"), mocks);
    const result = await run(process.execPath, [join(example, "mocked.mjs")], example);
    const outcome = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { tableName: string; bundles: number[] };
    expect(outcome.tableName).toBe("string");
    // The tracker and the reconciler (the query API and ingestion are opt-in), each bundled by
    // esbuild from the package's compiled dist/functions/: whole programs, the AWS SDK included.
    expect(outcome.bundles).toHaveLength(2);
    for (const length of outcome.bundles) expect(length).toBeGreaterThan(100_000);
  }, 120_000);
});
