/**
 * The clients people point at `bucket-ledger dev`, driving the local stack for real: rclone,
 * the AWS CLI and boto3, as Debian packages them (`.ci/run` installs them). Each syncs a tree
 * with tricky names, makes a 64 MiB single PUT, a multipart upload, a server-side copy of a
 * 20 MiB object, a move and a batch delete; after every step the ledger must equal a listing
 * of the bucket. The AWS CLI and boto3 also drive S3 Versioning on a second bucket: versioning
 * turned on, overwrites, ListObjectVersions page by page, a delete marker, a read and a copy of
 * an older version, and version deletes that make an older version current again, which the
 * tracker learns through HeadObject. A client missing from this machine is skipped, saying so;
 * CI never skips.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { LocalStack } from "../../local/stack.js";
import { compareLedgerWithBucket } from "../../local/verify.js";
import { runCommand } from "../support/run.js";

const MiB = 1024 * 1024;
const bucket = "clients";
/** Versioning is turned on by the clients themselves (PutBucketVersioning). */
const versioned = "clients-versioned";
const TREE = ["a b.txt", "plus+sign.txt", "100%.txt", "日本語/ファイル.txt", "emoji 😀.txt", "hash#and&amp.txt", "q?mark=1.txt", "deep/x/y/z.json"];

/** The first of these that exists, or undefined. */
const find = (...candidates: string[]) => candidates.find((path) => existsSync(path));
const CLIENTS = {
  rclone: find("/usr/bin/rclone", "/usr/local/bin/rclone"),
  awscli: find("/usr/bin/aws", "/usr/local/bin/aws"),
  // Debian's boto3 lives in Debian's Python, not in whichever python3 is first on PATH.
  boto3: find("/usr/bin/python3") && existsSync("/usr/lib/python3/dist-packages/boto3") ? "/usr/bin/python3" : undefined,
};
const missing = Object.entries(CLIENTS)
  .filter(([, path]) => !path)
  .map(([name]) => name);
if (missing.length > 0) {
  const message = `clients: ${missing.join(", ")} not installed here (apt-get install rclone awscli python3-boto3; .ci/run does)`;
  // CI installs every client: there, a missing one is a failure, never a skip.
  if (process.env.BUCKET_LEDGER_REQUIRE_CLIENTS === "1") throw new Error(message);
  console.warn(`${message}: skipping their compatibility tests`);
}

let stack: LocalStack;
let work: string;

beforeAll(async () => {
  stack = await LocalStack.start({ buckets: [bucket, versioned], logLevel: "SILENT" });
  work = await mkdtemp(join(tmpdir(), "bucket-ledger-clients-"));
  for (const name of TREE) {
    await mkdir(dirname(join(work, "tree", name)), { recursive: true });
    await writeFile(join(work, "tree", name), `contents of ${name}`);
  }
  const sized = (size: number) => {
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    return body;
  };
  await writeFile(join(work, "64mib.bin"), sized(64 * MiB));
  await writeFile(join(work, "12mib.bin"), sized(12 * MiB));
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "source/20mib.bin", Body: sized(20 * MiB) }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await runCommand(command, args, { env: { PATH: process.env.PATH ?? "", HOME: work, ...env }, cwd: work });
  expect(result.code, `${command} ${args.join(" ")}\n${result.stderr.slice(-2000)}`).toBe(0);
  return result.stdout;
}

async function ledgerMatchesBucket(step: string, name = bucket): Promise<void> {
  await stack.waitForIdle();
  const comparison = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, name);
  expect(comparison, step).toMatchObject({ matches: true });
}

/** What the ledger holds for a key of the versioned bucket, once the tracker is idle. */
async function versionedLedger(key: string) {
  await ledgerMatchesBucket(key, versioned);
  return stack.ledger.get(versioned, key);
}

const keysUnder = async (prefix: string) => {
  const keys: string[] = [];
  for await (const record of stack.ledger.list({ bucket, prefix })) keys.push(record.key);
  return keys;
};

describe.skipIf(!CLIENTS.rclone)("rclone", () => {
  const rclone = (...args: string[]) =>
    run(CLIENTS.rclone!, [...args, "--config", "/dev/null"], {
      RCLONE_CONFIG_L_TYPE: "s3",
      RCLONE_CONFIG_L_PROVIDER: "Other",
      RCLONE_CONFIG_L_ENDPOINT: stack.info.endpoints.s3,
      RCLONE_CONFIG_L_ACCESS_KEY_ID: localCredentials.accessKeyId,
      RCLONE_CONFIG_L_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      RCLONE_CONFIG_L_REGION: LOCAL_REGION,
      RCLONE_CONFIG_L_FORCE_PATH_STYLE: "true",
    });

  it("syncs a tree with tricky names, PUTs 64 MiB at once and uploads 12 MiB in parts, copies, moves and deletes", async () => {
    await rclone("sync", join(work, "tree"), `L:${bucket}/rclone/tree`);
    await ledgerMatchesBucket("rclone sync");
    expect((await keysUnder("rclone/tree/")).sort()).toEqual(TREE.map((name) => `rclone/tree/${name}`).sort());
    // Below rclone's default upload cutoff (200 MiB): one PUT.
    await rclone("copyto", join(work, "64mib.bin"), `L:${bucket}/rclone/single.bin`);
    await ledgerMatchesBucket("rclone single PUT");
    expect(await stack.ledger.get(bucket, "rclone/single.bin")).toMatchObject({ size: 64 * MiB, cause: "ObjectCreated:Put" });
    await rclone("copyto", join(work, "12mib.bin"), `L:${bucket}/rclone/multipart.bin`, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M");
    await ledgerMatchesBucket("rclone multipart");
    expect(await stack.ledger.get(bucket, "rclone/multipart.bin")).toMatchObject({ size: 12 * MiB, cause: "ObjectCreated:CompleteMultipartUpload" });
    await rclone("copyto", `L:${bucket}/source/20mib.bin`, `L:${bucket}/rclone/copy.bin`);
    await ledgerMatchesBucket("rclone server-side copy");
    await rclone("moveto", `L:${bucket}/rclone/copy.bin`, `L:${bucket}/rclone/moved.bin`);
    await ledgerMatchesBucket("rclone move");
    expect(await stack.ledger.get(bucket, "rclone/copy.bin")).toMatchObject({ deleted: true });
    await rclone("delete", `L:${bucket}/rclone/tree`);
    await ledgerMatchesBucket("rclone delete");
    expect(await keysUnder("rclone/tree/")).toEqual([]);
  }, 120_000);
});

describe.skipIf(!CLIENTS.awscli)("the AWS CLI", () => {
  const aws = async (...args: string[]) => {
    const config = join(work, "aws-config");
    // A 64 MiB file stays one PUT below this threshold; the default (8 MiB) splits 12 MiB in parts.
    await writeFile(config, `[default]\nregion = ${LOCAL_REGION}\ns3 =\n  multipart_threshold = 8MB\n`);
    return run(CLIENTS.awscli!, ["--endpoint-url", stack.info.endpoints.s3, ...args], {
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_PAGER: "",
    });
  };

  it("syncs a tree with tricky names, PUTs 64 MiB at once and in parts, copies server-side in parts, moves and batch-deletes", async () => {
    await aws("s3", "sync", join(work, "tree"), `s3://${bucket}/awscli/tree`);
    await ledgerMatchesBucket("aws s3 sync");
    expect((await keysUnder("awscli/tree/")).sort()).toEqual(TREE.map((name) => `awscli/tree/${name}`).sort());
    await aws("s3api", "put-object", "--bucket", bucket, "--key", "awscli/single.bin", "--body", join(work, "64mib.bin"));
    await ledgerMatchesBucket("aws s3api put-object");
    expect(await stack.ledger.get(bucket, "awscli/single.bin")).toMatchObject({ size: 64 * MiB, cause: "ObjectCreated:Put" });
    await aws("s3", "cp", join(work, "12mib.bin"), `s3://${bucket}/awscli/multipart.bin`);
    await ledgerMatchesBucket("aws s3 cp (multipart)");
    expect(await stack.ledger.get(bucket, "awscli/multipart.bin")).toMatchObject({ size: 12 * MiB, cause: "ObjectCreated:CompleteMultipartUpload" });
    // Over the threshold, a copy is a multipart upload of UploadPartCopy parts.
    await aws("s3", "cp", `s3://${bucket}/source/20mib.bin`, `s3://${bucket}/awscli/copy.bin`);
    await ledgerMatchesBucket("aws s3 cp (server-side)");
    expect(await stack.ledger.get(bucket, "awscli/copy.bin")).toMatchObject({ size: 20 * MiB, cause: "ObjectCreated:CompleteMultipartUpload" });
    await aws("s3", "mv", `s3://${bucket}/awscli/copy.bin`, `s3://${bucket}/awscli/moved.bin`);
    await ledgerMatchesBucket("aws s3 mv");
    await aws("s3", "rm", "--recursive", `s3://${bucket}/awscli/tree`);
    await ledgerMatchesBucket("aws s3 rm --recursive");
    expect(await keysUnder("awscli/tree/")).toEqual([]);
  }, 120_000);

  it("versions: turns it on, overwrites, lists versions page by page, deletes to a marker, reads and copies an old version, restores by version deletes", async () => {
    const api = async (...args: string[]) => JSON.parse((await aws("s3api", ...args)) || "{}") as Record<string, unknown>;
    const key = "awscli/doc.txt";
    await aws("s3api", "put-bucket-versioning", "--bucket", versioned, "--versioning-configuration", "Status=Enabled");
    expect(await api("get-bucket-versioning", "--bucket", versioned)).toEqual({ Status: "Enabled" });
    await writeFile(join(work, "v1.txt"), "version one");
    await writeFile(join(work, "v2.txt"), "version two!");
    const v1 = String((await api("put-object", "--bucket", versioned, "--key", key, "--body", join(work, "v1.txt"))).VersionId);
    const v2 = String((await api("put-object", "--bucket", versioned, "--key", key, "--body", join(work, "v2.txt"))).VersionId);
    expect(v1).not.toBe(v2);
    expect(await versionedLedger(key)).toMatchObject({ deleted: false, versionId: v2, size: 12 });
    // --page-size 1: one version a request, the CLI following NextKeyMarker / NextVersionIdMarker.
    const listed = await api("list-object-versions", "--bucket", versioned, "--prefix", "awscli/", "--page-size", "1");
    expect((listed.Versions as { VersionId: string; IsLatest: boolean }[]).map((version) => [version.VersionId, version.IsLatest])).toEqual([
      [v2, true],
      [v1, false],
    ]);
    const marker = await api("delete-object", "--bucket", versioned, "--key", key);
    expect(marker.DeleteMarker).toBe(true);
    expect(await versionedLedger(key)).toMatchObject({ deleted: true });
    await aws("s3api", "get-object", "--bucket", versioned, "--key", key, "--version-id", v1, join(work, "got-v1.txt"));
    expect(await readFile(join(work, "got-v1.txt"), "utf8")).toBe("version one");
    const copied = await api("copy-object", "--bucket", versioned, "--key", "awscli/copy.txt", "--copy-source", `${versioned}/${key}?versionId=${v1}`);
    expect(copied.CopySourceVersionId).toBe(v1);
    expect(await versionedLedger("awscli/copy.txt")).toMatchObject({ deleted: false, size: 11, versionId: copied.VersionId });
    await aws("s3api", "delete-object", "--bucket", versioned, "--key", key, "--version-id", String(marker.VersionId));
    expect(await versionedLedger(key)).toMatchObject({ deleted: false, versionId: v2, size: 12 });
    await aws("s3api", "delete-object", "--bucket", versioned, "--key", key, "--version-id", v2);
    expect(await versionedLedger(key)).toMatchObject({ deleted: false, versionId: v1, size: 11 });
  }, 120_000);
});

describe.skipIf(!CLIENTS.boto3)("boto3", () => {
  const python = (script: string) =>
    run(CLIENTS.boto3!, ["-c", script], {
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      ENDPOINT: stack.info.endpoints.s3,
      BUCKET: bucket,
      WORK: work,
    });
  const prelude = `
import os, boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
bucket, work = os.environ["BUCKET"], os.environ["WORK"]
MiB = 1024 * 1024
`;

  it("uploads a tree with tricky names, 64 MiB at once and in parts, copies 20 MiB (managed copy), moves and batch-deletes", async () => {
    await python(`${prelude}
for root, _, files in os.walk(os.path.join(work, "tree")):
    for name in files:
        path = os.path.join(root, name)
        s3.upload_file(path, bucket, "boto3/tree/" + os.path.relpath(path, os.path.join(work, "tree")))
`);
    await ledgerMatchesBucket("boto3 upload_file tree");
    expect((await keysUnder("boto3/tree/")).sort()).toEqual(TREE.map((name) => `boto3/tree/${name}`).sort());
    await python(`${prelude}s3.upload_file(os.path.join(work, "64mib.bin"), bucket, "boto3/single.bin", Config=TransferConfig(multipart_threshold=128 * MiB))`);
    await ledgerMatchesBucket("boto3 single PUT");
    expect(await stack.ledger.get(bucket, "boto3/single.bin")).toMatchObject({ size: 64 * MiB, cause: "ObjectCreated:Put" });
    await python(
      `${prelude}s3.upload_file(os.path.join(work, "12mib.bin"), bucket, "boto3/multipart.bin", Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))`,
    );
    await ledgerMatchesBucket("boto3 multipart");
    expect(await stack.ledger.get(bucket, "boto3/multipart.bin")).toMatchObject({ size: 12 * MiB, cause: "ObjectCreated:CompleteMultipartUpload" });
    await python(`${prelude}s3.copy({"Bucket": bucket, "Key": "source/20mib.bin"}, bucket, "boto3/copy.bin")`);
    await ledgerMatchesBucket("boto3 managed copy");
    expect(await stack.ledger.get(bucket, "boto3/copy.bin")).toMatchObject({ size: 20 * MiB, cause: "ObjectCreated:CompleteMultipartUpload" });
    await python(`${prelude}
s3.copy_object(Bucket=bucket, Key="boto3/moved.bin", CopySource={"Bucket": bucket, "Key": "boto3/copy.bin"})
s3.delete_object(Bucket=bucket, Key="boto3/copy.bin")
`);
    await ledgerMatchesBucket("boto3 move");
    await python(`${prelude}
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="boto3/tree/")["Contents"]]
s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
`);
    await ledgerMatchesBucket("boto3 delete_objects");
    expect(await keysUnder("boto3/tree/")).toEqual([]);
  }, 120_000);

  it("versions: turns it on, overwrites, pages through versions, deletes to a marker, reads and copies an old version, restores by version deletes", async () => {
    const key = "boto3/doc.txt";
    const step = async (script: string) => JSON.parse(await python(`${prelude}import json\nkey = "${key}"\n${script}`)) as Record<string, string>;
    const written = await step(`
s3.put_bucket_versioning(Bucket="${versioned}", VersioningConfiguration={"Status": "Enabled"})
status = s3.get_bucket_versioning(Bucket="${versioned}")["Status"]
v1 = s3.put_object(Bucket="${versioned}", Key=key, Body=b"version one")["VersionId"]
v2 = s3.put_object(Bucket="${versioned}", Key=key, Body=b"version two!")["VersionId"]
pages = s3.get_paginator("list_object_versions").paginate(Bucket="${versioned}", Prefix="boto3/", PaginationConfig={"PageSize": 1})
listed = [v["VersionId"] + ":" + str(v["IsLatest"]) for page in pages for v in page.get("Versions", [])]
print(json.dumps({"status": status, "v1": v1, "v2": v2, "listed": ",".join(listed)}))
`);
    expect(written.status).toBe("Enabled");
    expect(written.listed).toBe(`${written.v2}:True,${written.v1}:False`);
    expect(await versionedLedger(key)).toMatchObject({ deleted: false, versionId: written.v2 });
    const deleted = await step(`
marker = s3.delete_object(Bucket="${versioned}", Key=key)
old = s3.get_object(Bucket="${versioned}", Key=key, VersionId="${written.v1}")["Body"].read().decode()
copied = s3.copy_object(Bucket="${versioned}", Key="boto3/copy.txt", CopySource={"Bucket": "${versioned}", "Key": key, "VersionId": "${written.v1}"})
print(json.dumps({"marker": marker["VersionId"], "isMarker": str(marker["DeleteMarker"]), "old": old, "copiedFrom": copied["CopySourceVersionId"]}))
`);
    expect([deleted.isMarker, deleted.old, deleted.copiedFrom]).toEqual(["True", "version one", written.v1]);
    expect(await versionedLedger(key)).toMatchObject({ deleted: true });
    expect(await versionedLedger("boto3/copy.txt")).toMatchObject({ deleted: false, size: 11 });
    await step(`s3.delete_object(Bucket="${versioned}", Key=key, VersionId="${deleted.marker}")\nprint("{}")`);
    expect(await versionedLedger(key)).toMatchObject({ deleted: false, versionId: written.v2, size: 12 });
    await step(`s3.delete_objects(Bucket="${versioned}", Delete={"Objects": [{"Key": key, "VersionId": "${written.v2}"}]})\nprint("{}")`);
    expect(await versionedLedger(key)).toMatchObject({ deleted: false, versionId: written.v1, size: 11 });
  }, 120_000);
});
