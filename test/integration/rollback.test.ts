/**
 * rollback-plan end to end on the local stack with S3 Versioning (the local S3, its
 * notifications, the tracker, DynamoDB Local): a tree written and reconciled, then overwritten,
 * deleted and added to under a prefix; the plan back to before (manifests, summary, nothing
 * changed), the guard's refusal without --force, --apply, after which ListObjectVersions and
 * GetObject show exactly the state at the moment; a second --apply does nothing; a bucket
 * without versioning is refused. Then the same with the AWS CLI: `aws s3 cp --recursive`, an
 * overwrite and `aws s3 rm --recursive`, rolled back, and `aws s3api list-object-versions` /
 * `aws s3 cp` showing the tree restored.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { writeDevFile } from "../../local/dev-file.js";
import { LocalStack } from "../../local/stack.js";
import { runCli, runCliOnTerminal } from "../support/cli.js";
import { runCommand } from "../support/run.js";
import { applyRollback, Journal, planRollback } from "../../rollback/index.js";

const BUCKET = "rollback-tree";
const CLI_BUCKET = "rollback-cli";
const PLAIN = "rollback-plain";
const TRICKY = "tree/sp ace+plus,comma\n.txt";
/** A key whose version at the moment is deleted for good after it: refused, and escaped where it is named. */
const GONE = "gone/evil\x1b[31m.txt";

let stack: LocalStack;
let work: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await LocalStack.start({ buckets: [BUCKET, CLI_BUCKET], versioned: true, logLevel: "SILENT" });
  work = await mkdtemp(join(tmpdir(), "bucket-ledger-rollback-"));
  await writeDevFile(stack.info, join(work, ".bucket-ledger", "dev.json"));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, { cwd: work });

const put = (bucket: string, key: string, body: string) => stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
const remove = (bucket: string, key: string) => stack.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

/** Per key under the prefix: its current entry (a version's body, or "<delete marker>"), and how many entries the key has. */
async function bucketState(bucket: string, prefix: string): Promise<{ current: Record<string, string>; entries: number; currentIds: Record<string, string> }> {
  const current: Record<string, string> = {};
  const currentIds: Record<string, string> = {};
  let entries = 0;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await stack.clients.s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        ...(keyMarker && { KeyMarker: keyMarker }),
        ...(versionMarker && { VersionIdMarker: versionMarker }),
      }),
    );
    for (const marker of page.DeleteMarkers ?? []) {
      entries++;
      if (marker.IsLatest) {
        current[marker.Key!] = "<delete marker>";
        currentIds[marker.Key!] = marker.VersionId!;
      }
    }
    for (const version of page.Versions ?? []) {
      entries++;
      if (!version.IsLatest) continue;
      const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: version.Key!, VersionId: version.VersionId! }));
      current[version.Key!] = await object.Body!.transformToString();
      currentIds[version.Key!] = version.VersionId!;
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
  return { current, entries, currentIds };
}

/** The live keys only: what a GetObject without a version id returns. */
const live = (current: Record<string, string>) => Object.fromEntries(Object.entries(current).filter(([, body]) => body !== "<delete marker>"));

describe("rollback-plan with the SDK", { timeout: 180_000 }, () => {
  let moment: string;
  let atMoment: Awaited<ReturnType<typeof bucketState>>;
  let goneVersion: string;
  const out = () => join(work, "plan-tree");

  beforeAll(async () => {
    for (const name of ["a", "b", "c", "d", "keep"]) await put(BUCKET, `tree/${name}.txt`, `${name} at first`);
    await put(BUCKET, TRICKY, "tricky at first");
    await put(BUCKET, "other/x.txt", "x at first");
    goneVersion = (await put(BUCKET, GONE, "gone at first")).VersionId!;
    await put(BUCKET, "race/a.txt", "race at first");
    await stack.waitForIdle();
    // The ledger has held the whole bucket since this run: the horizon time travel answers from.
    await stack.reconcileAll();
    await sleep(1_100);
    moment = new Date().toISOString();
    atMoment = await bucketState(BUCKET, "tree/");
    await sleep(1_100);
    await put(BUCKET, "tree/a.txt", "a overwritten");
    await remove(BUCKET, "tree/b.txt");
    await put(BUCKET, "tree/c.txt", "c overwritten");
    await remove(BUCKET, "tree/c.txt");
    await put(BUCKET, "tree/new.txt", "new since");
    await put(BUCKET, "tree/brief.txt", "created and deleted since");
    await remove(BUCKET, "tree/brief.txt");
    await put(BUCKET, TRICKY, "tricky overwritten");
    await put(BUCKET, "other/x.txt", "x overwritten");
    await put(BUCKET, GONE, "gone overwritten");
    await put(BUCKET, "race/a.txt", "race overwritten");
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: GONE, VersionId: goneVersion }));
    await stack.waitForIdle();
  });

  it("plans the way back without changing anything: manifests per operation and a summary", async () => {
    const before = await bucketState(BUCKET, "tree/");
    const planned = await cli(["rollback-plan", BUCKET, "--to", moment, "--prefix", "tree/", "--out", out(), "--local", "--json"]);
    expect(planned.code, planned.stderr + planned.stdout).toBe(0);
    const summary = JSON.parse(planned.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      bucket: BUCKET,
      prefix: "tree/",
      to: moment,
      actions: { "copy-version": 3, "remove-delete-marker": 1, "delete-current": 1 },
      refused: 0,
      done: 0,
      prefixKeys: 6,
      refusedKeys: [],
    });
    const ids = atMoment.currentIds;
    // In key order, each key URL-encoded, with the version it held at the moment.
    expect(await readFile(join(out(), "copy.csv"), "utf8")).toBe(
      `${BUCKET},tree%2Fa.txt,${ids["tree/a.txt"]}\n${BUCKET},tree%2Fc.txt,${ids["tree/c.txt"]}\n${BUCKET},tree%2Fsp%20ace%2Bplus%2Ccomma%0A.txt,${ids[TRICKY]}\n`,
    );
    expect(await readFile(join(out(), "remove-delete-marker.csv"), "utf8")).toBe(`${BUCKET},tree%2Fb.txt,${before.currentIds["tree/b.txt"]}\n`);
    expect(await readFile(join(out(), "delete-current.csv"), "utf8")).toBe(`${BUCKET},tree%2Fnew.txt\n`);
    expect(await readFile(join(out(), "commands.sh"), "utf8")).toContain('"S3PutObjectCopy":{"TargetResource":"arn:aws:s3:::rollback-tree"}');
    expect(JSON.parse(await readFile(join(out(), "summary.json"), "utf8"))).toMatchObject({ actions: { "copy-version": 3 } });
    expect(await bucketState(BUCKET, "tree/")).toEqual(before);
  });

  it("on a terminal: the dry run's summary in words", async () => {
    const shown = await runCliOnTerminal(["rollback-plan", BUCKET, "--to", moment, "--prefix", "tree/", "--out", join(work, "plan-terminal"), "--local"], {
      cwd: work,
    });
    expect(shown.code, shown.stdout).toBe(0);
    expect(shown.stdout).toMatch(/copy the version back +3\n/);
    expect(shown.stdout).toMatch(/remove the delete marker +1\n/);
    expect(shown.stdout).toMatch(/delete \(a delete marker\) +1\n/);
    expect(shown.stdout).toContain("dry run: nothing changed. Run again with --apply, or start the jobs in commands.sh.");
  });

  it("refuses to apply beyond --max-share without --force, changing nothing", async () => {
    const before = await bucketState(BUCKET, "tree/");
    const refused = await cli(["rollback-plan", BUCKET, "--to", moment, "--prefix", "tree/", "--out", out(), "--local", "--apply"]);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain("the rollback would change 5 of the prefix's 6 keys (83.3%), over the --max-share of 10%");
    expect(await bucketState(BUCKET, "tree/")).toEqual(before);
  });

  it("applies the plan: the prefix is exactly as it was at the moment, other prefixes untouched; a second run does nothing", async () => {
    const applied = await cli(["rollback-plan", BUCKET, "--to", moment, "--prefix", "tree/", "--out", out(), "--local", "--apply", "--force", "--json"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ applied: { applied: 5, conflicts: 0, failures: 0 }, conflicts: [], failures: [] });
    await stack.waitForIdle();
    const after = await bucketState(BUCKET, "tree/");
    expect(live(after.current)).toEqual(live(atMoment.current));
    expect(live(after.current)).toEqual({
      "tree/a.txt": "a at first",
      "tree/b.txt": "b at first",
      "tree/c.txt": "c at first",
      "tree/d.txt": "d at first",
      "tree/keep.txt": "keep at first",
      [TRICKY]: "tricky at first",
    });
    // The delete marker removed: b's very version is current again; new.txt hidden by a marker, not destroyed.
    expect(after.currentIds["tree/b.txt"]).toBe(atMoment.currentIds["tree/b.txt"]);
    expect(after.current["tree/new.txt"]).toBe("<delete marker>");
    const other = await stack.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "other/x.txt" }));
    expect(await other.Body!.transformToString()).toBe("x overwritten");
    const again = await cli(["rollback-plan", BUCKET, "--to", moment, "--prefix", "tree/", "--out", out(), "--local", "--apply", "--force", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      actions: { "copy-version": 0, "remove-delete-marker": 0, "delete-current": 0 },
      done: 3,
      applied: { applied: 0 },
    });
    expect(await bucketState(BUCKET, "tree/")).toEqual(after);
    // Without the journal too: each key's current version has the moment's content.
    const fresh = await cli(["rollback-plan", BUCKET, "--to", moment, "--prefix", "tree/", "--out", join(work, "plan-fresh"), "--local", "--json"]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ actions: { "copy-version": 0, "remove-delete-marker": 0, "delete-current": 0 }, done: 3, refused: 0 });
    // The ledger agrees: the prefix as of now is the prefix as of the moment.
    const ls = await cli(["ls", BUCKET, "--prefix", "tree/", "--local", "--json"]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(
      ls.stdout
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { key: string }).key),
    ).toEqual(Object.keys(live(atMoment.current)).sort());
  });

  it("refuses a key whose version at the moment S3 no longer has, naming it escaped; --skip-refused leaves it and goes on", async () => {
    const dir = join(work, "plan-gone");
    const refused = await runCliOnTerminal(["rollback-plan", BUCKET, "--to", moment, "--prefix", "gone/", "--out", dir, "--local", "--apply", "--force"], {
      cwd: work,
    });
    expect(refused.code, refused.stdout).toBe(3);
    expect(refused.stdout).toContain("refused, left as they are (1):");
    expect(refused.stdout).toContain(
      `gone/evil\\e[31m.txt: S3 no longer has version ${goneVersion}, the key's state at the moment (it was deleted permanently)`,
    );
    expect(refused.stdout).not.toContain("evil\x1b[31m");
    expect(refused.stdout).not.toContain("dry run");
    expect(refused.stdout).toContain("1 key is refused");
    expect(await readFile(join(dir, "commands.sh"), "utf8")).toBe("# The plan was refused: see plan.json (refused). Nothing to run.\n");
    expect(JSON.parse(await readFile(join(dir, "plan.json"), "utf8"))).toMatchObject({ actions: [], refused: [{ key: GONE }] });
    const skipped = await cli(["rollback-plan", BUCKET, "--to", moment, "--prefix", "gone/", "--out", dir, "--local", "--apply", "--force", "--skip-refused"]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ refused: 1, applied: { applied: 0 }, refusedKeys: [{ key: GONE }] });
    const current = await stack.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: GONE }));
    expect(await current.Body!.transformToString()).toBe("gone overwritten");
  });

  it("through the typed client: a key written between the plan and --apply is left as it is, reported as changed since", async () => {
    const plan = await planRollback({ reader: stack.ledger, s3: stack.clients.s3, bucket: BUCKET, prefix: "race/", to: new Date(moment) });
    expect(plan.actions.map((action) => [action.kind, action.key])).toEqual([["copy-version", "race/a.txt"]]);
    const raced = await put(BUCKET, "race/a.txt", "raced");
    const journal = await Journal.open(join(work, "plan-race"), { bucket: BUCKET, prefix: "race/", to: plan.to });
    const applied = await applyRollback({ s3: stack.clients.s3, plan, journal });
    expect(applied).toEqual({
      applied: 0,
      failures: [],
      conflicts: [
        {
          key: "race/a.txt",
          reason: `the key changed in S3 since the plan (its current entry is now version ${raced.VersionId}): left as it is; plan again`,
        },
      ],
    });
    expect(journal.results.size).toBe(0);
    const current = await stack.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "race/a.txt" }));
    expect(await current.Body!.transformToString()).toBe("raced");
  });

  it("a write landing after apply's check of the key, before its copy, is refused by S3's If-Match (412): left as it is, reported", async () => {
    const key = "late/a.txt";
    await put(BUCKET, key, "late at first");
    await sleep(1_100);
    const before = new Date();
    await sleep(1_100);
    await put(BUCKET, key, "late overwritten");
    await stack.waitForIdle();
    const plan = await planRollback({ reader: stack.ledger, s3: stack.clients.s3, bucket: BUCKET, prefix: "late/", to: before });
    expect(plan.actions.map((action) => [action.kind, action.key])).toEqual([["copy-version", key]]);
    // The other write is sent as apply sends its CopyObject: after apply has checked the key, before S3 sees the copy.
    const s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: stack.info.endpoints.s3, forcePathStyle: true });
    let landed: string | undefined;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "CopyObjectCommand" && landed === undefined) landed = (await put(BUCKET, key, "landed")).VersionId;
        return next(args);
      },
      { step: "initialize" },
    );
    const journal = await Journal.open(join(work, "plan-late"), { bucket: BUCKET, prefix: "late/", to: plan.to });
    const applied = await applyRollback({ s3, plan, journal });
    s3.destroy();
    expect(landed).toBeDefined();
    expect(applied).toEqual({
      applied: 0,
      failures: [],
      conflicts: [{ key, reason: "the key changed in S3 since the plan (If-Match failed): left as it is; plan again" }],
    });
    expect(journal.results.size).toBe(0);
    const current = await stack.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(current.VersionId).toBe(landed);
    expect(await current.Body!.transformToString()).toBe("landed");
  });

  it("refuses a bucket without versioning, writing nothing", async () => {
    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
    const dir = join(work, "plan-plain");
    const refused = await cli(["rollback-plan", PLAIN, "--to", moment, "--out", dir, "--local", "--apply", "--force"]);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(`${PLAIN} has no versioning: a rollback runs only on a bucket with versioning enabled`);
    expect(existsSync(dir)).toBe(false);
  });

  it("names a bad --to and exits 2", async () => {
    const bad = await cli(["rollback-plan", BUCKET, "--to", "yesterday", "--out", out(), "--local"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to "yesterday" is not a time');
  });
});

/** The AWS CLI on PATH (or where Debian puts it), if any. */
const awsCli = ["/usr/bin/aws", "/usr/local/bin/aws", ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "aws"))].find((path) =>
  existsSync(path),
);
if (!awsCli) console.warn("rollback: the AWS CLI is not installed here (apt-get install awscli): skipping its end-to-end test");

describe.skipIf(!awsCli)("rollback-plan after the AWS CLI overwrote and deleted a tree", { timeout: 180_000 }, () => {
  const TREE = ["index.html", "css/site.css", "img/logo one.svg", "a+b.txt"];
  const aws = async (...args: string[]) => {
    const result = await runCommand(awsCli!, ["--endpoint-url", stack.info.endpoints.s3, "--region", LOCAL_REGION, ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_CONFIG_FILE: "/dev/null",
        AWS_PAGER: "",
      },
      cwd: work,
    });
    expect(result.code, `aws ${args.join(" ")}\n${result.stderr.slice(-2000)}`).toBe(0);
    return result.stdout;
  };

  it("restores the tree: every key's content as before, read back with aws s3 cp", async () => {
    const tree = join(work, "site");
    for (const name of TREE) {
      await mkdir(dirname(join(tree, name)), { recursive: true });
      await writeFile(join(tree, name), `original ${name}`);
    }
    await aws("s3", "cp", "--recursive", tree, `s3://${CLI_BUCKET}/site/`);
    await stack.waitForIdle();
    await stack.reconcileAll();
    await sleep(1_100);
    const moment = new Date().toISOString();
    await sleep(1_100);
    await writeFile(join(work, "changed.html"), "defaced");
    await aws("s3", "cp", join(work, "changed.html"), `s3://${CLI_BUCKET}/site/index.html`);
    await aws("s3", "rm", "--recursive", `s3://${CLI_BUCKET}/site/`);
    await stack.waitForIdle();
    // The AWS CLI prints nothing for an empty listing.
    const gone = JSON.parse((await aws("s3api", "list-objects-v2", "--bucket", CLI_BUCKET, "--prefix", "site/")) || "{}") as { Contents?: unknown[] };
    expect(gone.Contents ?? []).toEqual([]);

    const rolled = await cli([
      "rollback-plan",
      CLI_BUCKET,
      "--to",
      moment,
      "--prefix",
      "site/",
      "--out",
      join(work, "plan-site"),
      "--local",
      "--apply",
      "--force",
      "--json",
    ]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({
      actions: { "copy-version": 1, "remove-delete-marker": 3, "delete-current": 0 },
      applied: { applied: 4, conflicts: 0, failures: 0 },
    });
    await stack.waitForIdle();

    const versions = JSON.parse(await aws("s3api", "list-object-versions", "--bucket", CLI_BUCKET, "--prefix", "site/")) as {
      Versions?: { Key: string; IsLatest: boolean }[];
      DeleteMarkers?: { Key: string; IsLatest: boolean }[];
    };
    expect((versions.DeleteMarkers ?? []).filter((marker) => marker.IsLatest)).toEqual([]);
    expect(
      (versions.Versions ?? [])
        .filter((version) => version.IsLatest)
        .map((version) => version.Key)
        .sort(),
    ).toEqual(TREE.map((name) => `site/${name}`).sort());
    for (const name of TREE) {
      const target = join(work, "restored", name);
      await aws("s3", "cp", `s3://${CLI_BUCKET}/site/${name}`, target);
      expect(await readFile(target, "utf8")).toBe(`original ${name}`);
    }
  });
});
