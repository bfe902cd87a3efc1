/**
 * The rollback's outputs and limits: the share guard's boundary, the Batch Operations manifests
 * (URL-encoded keys, one file per operation), the job commands, the re-check before an action,
 * and the journal that makes --apply resumable.
 */
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../foundation/user-error.js";
import { copySource, staleReason } from "../../rollback/apply.js";
import type { RollbackAction } from "../../rollback/decide.js";
import { prefixKeysOf, shareGuard } from "../../rollback/guard.js";
import { encodeManifestKey, jobCommands, manifestsOf, manifestText } from "../../rollback/manifest.js";
import { Journal, JOURNAL_FILE, writeFilesAtomically } from "../../rollback/out-dir.js";
import type { RollbackPlan } from "../../rollback/plan.js";
import { summaryOf } from "../../rollback/summary.js";

describe("shareGuard", () => {
  it("allows exactly the share, refuses one more, and --force lifts it", () => {
    expect(shareGuard({ actions: 10, prefixKeys: 100, maxShare: 0.1, force: false })).toBeUndefined();
    const refusal = shareGuard({ actions: 11, prefixKeys: 100, maxShare: 0.1, force: false });
    expect(refusal?.message).toBe(
      "the rollback would change 11 of the prefix's 100 keys (11.0%), over the --max-share of 10%: check --to and --prefix, then pass --force to go ahead",
    );
    expect(refusal?.exitCode).toBe(EXIT.refused);
    expect(shareGuard({ actions: 11, prefixKeys: 100, maxShare: 0.1, force: true })).toBeUndefined();
    expect(shareGuard({ actions: 0, prefixKeys: 0, maxShare: 0.1, force: false })).toBeUndefined();
    expect(shareGuard({ actions: 1, prefixKeys: 0, maxShare: 1, force: false })?.message).toMatch(/ \(all\), /);
  });

  it("counts the prefix as the more of its keys now and at the moment", () => {
    expect(prefixKeysOf(100, 5, 0)).toBe(100);
    expect(prefixKeysOf(0, 0, 40)).toBe(40);
    expect(prefixKeysOf(10, 2, 5)).toBe(13);
  });
});

const actions: RollbackAction[] = [
  {
    kind: "copy-version",
    key: "a b+c,d",
    source: { versionId: "v1", etag: "e1", size: 1 },
    current: { kind: "version", versionId: "v2", etag: "e2", size: 2 },
  },
  { kind: "copy-version", key: "n", source: { versionId: "null", etag: "e1", size: 1 }, current: { kind: "version", versionId: "v2", etag: "e2", size: 2 } },
  { kind: "delete-current", key: "dir/new", current: { kind: "version", versionId: "v3", etag: "e3", size: 3 } },
  { kind: "remove-delete-marker", key: "é\n'x", marker: "m1", restores: "v0" },
];

describe("manifests", () => {
  it("percent-encodes keys so no +, comma, quote or newline reaches the CSV", () => {
    expect(encodeManifestKey("a b+c,d")).toBe("a%20b%2Bc%2Cd");
    expect(encodeManifestKey("dir/x(1)!*'")).toBe("dir%2Fx%281%29%21%2A%27");
    expect(decodeURIComponent(encodeManifestKey("é\n'x"))).toBe("é\n'x");
  });

  it("writes one manifest per operation: versioned copies for S3PutObjectCopy, the rest for --apply or LambdaInvoke", () => {
    const manifests = manifestsOf("bkt", actions);
    expect(manifests.map((m) => [m.file, m.operation, m.fields, manifestText(m)])).toEqual([
      ["copy.csv", "S3PutObjectCopy", ["Bucket", "Key", "VersionId"], "bkt,a%20b%2Bc%2Cd,v1\n"],
      ["copy-null-version.csv", "LambdaInvoke", ["Bucket", "Key", "VersionId"], "bkt,n,null\n"],
      ["delete-current.csv", "LambdaInvoke", ["Bucket", "Key"], "bkt,dir%2Fnew\n"],
      ["remove-delete-marker.csv", "LambdaInvoke", ["Bucket", "Key", "VersionId"], "bkt,%C3%A9%0A%27x,m1\n"],
    ]);
    expect(manifestText(manifestsOf("bkt", [])[0]!)).toBe("");
  });

  it("writes a manifest's rows one a line", () => {
    const two = manifestsOf("bkt", [actions[0]!, { ...actions[0]!, key: "z" } as RollbackAction])[0]!;
    expect(manifestText(two)).toBe("bkt,a%20b%2Bc%2Cd,v1\nbkt,z,v1\n");
  });

  it("prints the script exactly: settings to fill in, then per manifest its upload and its create-job", () => {
    const script = jobCommands("bkt", "/d", manifestsOf("bkt", [actions[0]!, actions[2]!]));
    const job = (file: string, variable: string, operation: string, fields: string) => [
      `${variable}=$(aws s3api put-object --bucket "$MANIFEST_BUCKET" --key "$MANIFEST_PREFIX/${file}" --body '/d/${file}' --query ETag --output text)`,
      `aws s3control create-job --account-id "$ACCOUNT_ID" --region "$REGION" --role-arn "$ROLE_ARN" --priority 10 --confirmation-required \\`,
      `  --operation ${operation} \\`,
      `  --manifest '{"Spec":{"Format":"S3BatchOperations_CSV_20180820","Fields":${fields}},"Location":{"ObjectArn":"arn:aws:s3:::'"$MANIFEST_BUCKET/$MANIFEST_PREFIX"'/${file}","ETag":'"$${variable}"'}}' \\`,
      `  --report '{"Enabled":true,"Bucket":"arn:aws:s3:::'"$MANIFEST_BUCKET"'","Prefix":"'"$MANIFEST_PREFIX"'/reports","Format":"Report_CSV_20180820","ReportScope":"AllTasks"}'`,
      "",
    ];
    expect(script).toBe(
      [
        "#!/bin/sh",
        "# Start S3 Batch Operations jobs for the rollback of bkt. Fill in these, then run it.",
        "# No Batch Operations operation deletes objects: the deletes are --apply's, or a LambdaInvoke job's (see below).",
        "# A job's copies are not conditional: a write made to a key after the plan is overwritten (--apply checks each key again and copies with If-Match).",
        "# Archived versions (S3 Glacier Flexible Retrieval, Deep Archive, Intelligent-Tiering archive tiers) must be restored before they are copied.",
        "set -eu",
        'ACCOUNT_ID="<account id>"',
        'REGION="<region of the bucket>"',
        'ROLE_ARN="<role Batch Operations assumes: s3:GetObject(Version) and s3:PutObject on the bucket>"',
        'MANIFEST_BUCKET="<bucket for manifests and reports>"',
        'MANIFEST_PREFIX="bucket-ledger-rollback"',
        'DELETE_FUNCTION_ARN="<your Lambda function that deletes each task\'s key or version>"',
        "",
        "# 1 copies of the moment's version over the current one (S3PutObjectCopy).",
        ...job("copy.csv", "ETAG_COPY_CSV", `'{"S3PutObjectCopy":{"TargetResource":"arn:aws:s3:::bkt"}}'`, '["Bucket","Key","VersionId"]'),
        "# 1 rows for a LambdaInvoke job with your own function (or leave them to `bucket-ledger rollback-plan --apply`).",
        ...job("delete-current.csv", "ETAG_DELETE_CURRENT_CSV", `'{"LambdaInvoke":{"FunctionArn":"'"$DELETE_FUNCTION_ARN"'"}}'`, '["Bucket","Key"]'),
        "",
      ].join("\n"),
    );
  });

  it("prints create-job commands for the manifests with rows only", () => {
    const script = jobCommands("bkt", "/tmp/it's", manifestsOf("bkt", actions.slice(0, 1)));
    expect(script).toContain(`--operation '{"S3PutObjectCopy":{"TargetResource":"arn:aws:s3:::bkt"}}'`);
    expect(script).toContain(`"Spec":{"Format":"S3BatchOperations_CSV_20180820","Fields":["Bucket","Key","VersionId"]}`);
    expect(script).toContain(`--body '/tmp/it'\\''s/copy.csv'`);
    expect(script.match(/aws s3control create-job/g)).toHaveLength(1);
    expect(script).not.toContain('LambdaInvoke":');
    expect(jobCommands("bkt", "/d", manifestsOf("bkt", actions)).match(/aws s3control create-job/g)).toHaveLength(4);
  });
});

describe("apply's checks", () => {
  it("encodes the copy source's key segment by segment, with the version id", () => {
    expect(copySource("bkt", "a b/c?d#e", "v+1")).toBe("bkt/a%20b/c%3Fd%23e?versionId=v%2B1");
  });

  it("finds an action stale when the key's current entry is no longer the planned one", () => {
    const [copy, , remove, removeMarker] = [actions[0]!, actions[1]!, actions[2]!, actions[3]!];
    expect(staleReason(copy, { current: { kind: "version", versionId: "v2", etag: "e2", size: 2 }, beneath: undefined })).toBeUndefined();
    expect(staleReason(copy, { current: { kind: "version", versionId: "v7", etag: "e2", size: 2 }, beneath: undefined })).toBe(
      "the key changed in S3 since the plan (its current entry is now version v7): left as it is; plan again",
    );
    expect(staleReason(remove, { current: { kind: "delete-marker", versionId: "v3" }, beneath: undefined })).toMatch(/now delete-marker v3/);
    expect(
      staleReason(removeMarker, { current: { kind: "delete-marker", versionId: "m1" }, beneath: { kind: "version", versionId: "v0", etag: "", size: 0 } }),
    ).toBeUndefined();
    expect(
      staleReason(removeMarker, { current: { kind: "delete-marker", versionId: "m1" }, beneath: { kind: "version", versionId: "v9", etag: "", size: 0 } }),
    ).toBeDefined();
    expect(staleReason(removeMarker, { current: undefined, beneath: undefined })).toMatch(/now no version\)/);
  });
});

describe("output directory", () => {
  it("writes files whole, leaving no temporary file behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollback-"));
    await writeFilesAtomically(dir, { "a.json": "1\n", "b.csv": "" });
    await writeFilesAtomically(dir, { "a.json": "2\n" });
    expect((await readdir(dir)).sort()).toEqual(["a.json", "b.csv"]);
    expect(await readFile(join(dir, "a.json"), "utf8")).toBe("2\n");
  });

  it("journals each action, resumes from it, and leaves out a line cut short", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollback-"));
    const identity = { bucket: "bkt", prefix: "p/", to: "2026-12-03T09:00:00.000Z" };
    const journal = await Journal.open(dir, identity);
    expect(journal.results.size).toBe(0);
    await journal.record({ key: "p/a", kind: "copy-version", result: "v9" });
    await journal.record({ key: "p/b", kind: "delete-current", result: "m1" });
    await writeFile(join(dir, JOURNAL_FILE), `${await readFile(join(dir, JOURNAL_FILE), "utf8")}{"key":"p/c","kin`);
    const resumed = await Journal.open(dir, identity);
    expect([...resumed.results]).toEqual([
      ["p/a", "v9"],
      ["p/b", "m1"],
    ]);
    await resumed.record({ key: "p/c", kind: "copy-version", result: "v4" });
    expect((await Journal.open(dir, identity)).results.get("p/c")).toBe("v4");
  });

  it("refuses the journal of another rollback, naming how to resume it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollback-"));
    await Journal.open(dir, { bucket: "bkt", prefix: "", to: "2026-12-03T09:00:00.000Z" });
    const other = Journal.open(dir, { bucket: "bkt", prefix: "", to: "2026-12-03T10:00:00.000Z" });
    await expect(other).rejects.toThrow(/is the journal of another rollback .*--to 2026-12-03T09:00:00.000Z; else use another --out directory/);
    await expect(other).rejects.toMatchObject({ exitCode: EXIT.usage });
    await writeFile(join(dir, JOURNAL_FILE), "garbage\n");
    await expect(Journal.open(dir, { bucket: "bkt", prefix: "", to: "x" })).rejects.toThrow(/is not a rollback journal/);
  });
});

describe("summaryOf", () => {
  const plan: RollbackPlan = {
    bucket: "bkt",
    prefix: "p/",
    to: "2026-12-03T09:00:00.000Z",
    plannedAt: "2026-12-04T09:00:00.000Z",
    actions,
    refused: [{ key: "u", reason: "unknown" }],
    done: [
      { key: "d1", versionId: "v1" },
      { key: "d2", versionId: "v2" },
    ],
    prefixKeys: 40,
  };

  it("counts the actions by kind, the refused and done keys; the run's figures only with --apply", () => {
    expect(summaryOf(plan)).toEqual({
      bucket: "bkt",
      prefix: "p/",
      to: "2026-12-03T09:00:00.000Z",
      plannedAt: "2026-12-04T09:00:00.000Z",
      actions: { "copy-version": 2, "delete-current": 1, "remove-delete-marker": 1 },
      refused: 1,
      done: 2,
      prefixKeys: 40,
    });
    expect(summaryOf(plan, { applied: 3, conflicts: [{ key: "c", reason: "r" }], failures: [] }).applied).toEqual({ applied: 3, conflicts: 1, failures: 0 });
  });
});
