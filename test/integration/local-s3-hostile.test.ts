/**
 * What a hostile local process or web page can send the local S3 (issue 29): a bucket name that
 * walks out of the data directory, dot segments in a path, keys past S3's 1,024 bytes, a foreign
 * Host (DNS rebinding), a cross-site POST. Requests are sent raw with node:http, since SDKs and
 * fetch encode or normalise what an attacker would not.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";

let parent: string;
let dataDirectory: string;
let victim: string;
let emulator: S3SqsEmulator;
let s3: S3Client;
const bucket = "ledger-demo";
const other = "second";

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), "bucket-ledger-hostile-"));
  // Three levels below `parent`, so `<data>/buckets/../../../victim` is `parent/victim`.
  dataDirectory = join(parent, "a", "data");
  victim = join(parent, "victim");
  await mkdir(victim);
  await writeFile(join(victim, "precious.txt"), "keep me");
  emulator = await startS3SqsEmulator({ region: LOCAL_REGION, s3Directory: dataDirectory });
  s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true });
  for (const name of [bucket, other]) await s3.send(new CreateBucketCommand({ Bucket: name }));
});

afterAll(async () => {
  await emulator?.stop();
  if (parent) await rm(parent, { recursive: true, force: true });
});

interface Answer {
  status: number;
  text: string;
}

/** One request exactly as given: the path is not normalised or encoded. */
function send(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const { port, hostname } = new URL(emulator.endpoint);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, method, path, headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** The TCP ports this process listens on, from Linux's /proc (the test worker runs this file's emulator alone). */
function listeningTcpPorts(): number[] {
  const sockets = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode) sockets.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // State 0A is LISTEN; field 9 is the socket's inode.
      if (fields[3] === "0A" && sockets.has(fields[9]!)) ports.push(Number.parseInt(fields[1]!.split(":")[1]!, 16));
    }
  }
  return ports;
}

const codeOf = (answer: Answer) => /<Code>([^<]*)<\/Code>/.exec(answer.text)?.[1];

async function keysOf(name: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: name }))).Contents ?? []).map((object) => object.Key!);
}

const deleteXml = (...keys: string[]) => `<Delete>${keys.map((key) => `<Object><Key>${key}</Key></Object>`).join("")}</Delete>`;
const md5 = (text: string) => createHash("md5").update(text).digest("base64");

describe("the local S3 keeps to its data directory", () => {
  it("refuses a bucket name that walks out of it: the traversal PUT and DELETE answer InvalidBucketName and touch nothing", async () => {
    const put = await send("PUT", "/..%2F..%2F..%2Fvictim");
    expect([put.status, codeOf(put)]).toEqual([400, "InvalidBucketName"]);
    const del = await send("DELETE", "/..%2F..%2F..%2Fvictim");
    expect([del.status, codeOf(del)]).toEqual([400, "InvalidBucketName"]);
    const object = await send("PUT", "/..%2F..%2F..%2Fvictim/dropped.txt", { body: "x" });
    expect([object.status, codeOf(object)]).toEqual([400, "InvalidBucketName"]);
    expect(await readdir(victim)).toEqual(["precious.txt"]);
    expect(existsSync(join(parent, "a", "victim"))).toBe(false);
  });

  it("deletes a bucket by removing what it made there and nothing else", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "doomed" }));
    const stray = join(dataDirectory, "buckets", "doomed", "objects", "not-ours.txt");
    await writeFile(stray, "someone else's");
    await s3.send(new DeleteBucketCommand({ Bucket: "doomed" }));
    expect(existsSync(stray)).toBe(true);
    expect((await send("HEAD", "/doomed")).status).toBe(404);
  });

  it("refuses names S3 refuses (upper case, underscores, IP addresses, adjacent periods, too short or long)", async () => {
    for (const name of ["Upper", "under_score", "192.168.5.4", "a..b", "ab", "x".repeat(64), "xn--punycode", "name-s3alias", ".hidden"]) {
      const answer = await send("PUT", `/${name}`);
      expect([name, answer.status, codeOf(answer)]).toEqual([name, 400, "InvalidBucketName"]);
    }
  });

  it("keeps dot segments as part of the key, as S3 does: /bucket/../other/x stays in bucket, a/./b stays a/./b", async () => {
    expect((await send("PUT", `/${bucket}/../${other}/x`, { body: "dots" })).status).toBe(200);
    expect((await send("PUT", `/${bucket}/a/./b`, { body: "dot" })).status).toBe(200);
    expect((await send("PUT", `/${bucket}/c/%2E%2E/d`, { body: "encoded dots" })).status).toBe(200);
    expect(await keysOf(bucket)).toEqual(expect.arrayContaining([`../${other}/x`, "a/./b", "c/../d"]));
    expect(await keysOf(other)).toEqual([]);
    expect((await send("GET", `/${bucket}/a/./b`)).text).toBe("dot");
  });

  it("refuses a key over 1,024 bytes of UTF-8 with KeyTooLongError, and takes one of exactly 1,024", async () => {
    const tooLong = await send("PUT", `/${bucket}/${"k".repeat(1025)}`, { body: "x" });
    expect([tooLong.status, codeOf(tooLong)]).toEqual([400, "KeyTooLongError"]);
    // 512 two-byte characters: 1,024 bytes, 512 characters.
    const twoByte = encodeURIComponent("é".repeat(512));
    expect((await send("PUT", `/${bucket}/${twoByte}`, { body: "x" })).status).toBe(200);
    const overByOne = await send("PUT", `/${bucket}/${twoByte}k`, { body: "x" });
    expect([overByOne.status, codeOf(overByOne)]).toEqual([400, "KeyTooLongError"]);
  });

  it("answers a path that does not decode with InvalidURI (it used to crash the emulator)", async () => {
    const answer = await send("GET", `/${bucket}/%zz`);
    expect([answer.status, codeOf(answer)]).toEqual([400, "InvalidURI"]);
  });

  it("refuses a version id that is not one (slashes, dot segments, too long, empty) with InvalidArgument, and writes nothing outside", async () => {
    const versioned = "hostile-versions";
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    const enable = `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`;
    expect((await send("PUT", `/${versioned}?versioning`, { body: enable })).status).toBe(200);
    expect((await send("PUT", `/${versioned}/kept.txt`, { body: "kept" })).status).toBe(200);
    const hostile = ["../../../victim/precious.txt", "a/b", "..", `${"A".repeat(14)}/..%2F..%2F${"b".repeat(10)}`, "x".repeat(2048), "%00", ""];
    for (const id of hostile) {
      const encoded = encodeURIComponent(id);
      for (const [method, path] of [
        ["GET", `/${versioned}/kept.txt?versionId=${encoded}`],
        ["DELETE", `/${versioned}/kept.txt?versionId=${encoded}`],
        ["GET", `/${versioned}?versions&key-marker=kept.txt&version-id-marker=${encoded}`],
      ] as const) {
        const answer = await send(method, path);
        // An empty version-id-marker is no marker: the whole listing.
        if (id === "" && path.includes("version-id-marker")) expect(answer.status).toBe(200);
        else expect([id.slice(0, 20), method, answer.status, codeOf(answer)]).toEqual([id.slice(0, 20), method, 400, "InvalidArgument"]);
      }
      const copy = await send("PUT", `/${versioned}/copy.txt`, { headers: { "x-amz-copy-source": `/${versioned}/kept.txt?versionId=${encoded}` } });
      expect([copy.status, codeOf(copy)]).toEqual([400, "InvalidArgument"]);
    }
    expect((await send("GET", `/${versioned}/kept.txt`)).text).toBe("kept");
    expect(await readdir(victim)).toEqual(["precious.txt"]);
    // Each key's versions sit in its one metadata file, named by the key's hash: no version id names a file.
    const files = await readdir(join(dataDirectory, "buckets", versioned, "objects"));
    expect(files.every((file) => /^[0-9a-f]{64}\.json$|^[0-9a-f-]{36}\.body$/.test(file))).toBe(true);
  });

  it("bounds what a listing may cost: max-keys at most 1,000, a malformed one refused, version markers no longer than a key", async () => {
    const versioned = "hostile-versions";
    const listed = await send("GET", `/${versioned}?versions&max-keys=99999`);
    expect(/<MaxKeys>(\d+)<\/MaxKeys>/.exec(listed.text)?.[1]).toBe("1000");
    for (const maxKeys of ["-1", "abc", "1e3", "99999999999999"]) {
      const answer = await send("GET", `/${versioned}?versions&max-keys=${maxKeys}`);
      expect([maxKeys, answer.status, codeOf(answer)]).toEqual([maxKeys, 400, "InvalidArgument"]);
    }
    // ListObjects v1 and v2 alike: a max-keys that is not a count once listed the whole bucket in one page.
    for (const listing of ["list-type=2&", ""]) {
      const answer = await send("GET", `/${versioned}?${listing}max-keys=abc`);
      expect([listing, answer.status, codeOf(answer)]).toEqual([listing, 400, "InvalidArgument"]);
      expect(/<MaxKeys>(\d+)<\/MaxKeys>/.exec((await send("GET", `/${versioned}?${listing}max-keys=5000`)).text)?.[1]).toBe("1000");
    }
    const longMarker = await send("GET", `/${versioned}?versions&key-marker=${"k".repeat(1025)}`);
    expect([longMarker.status, codeOf(longMarker)]).toEqual([400, "InvalidArgument"]);
    const orphanMarker = await send("GET", `/${versioned}?versions&version-id-marker=null`);
    expect([orphanMarker.status, codeOf(orphanMarker)]).toEqual([400, "InvalidArgument"]);
    const mfa = await send("PUT", `/${versioned}?versioning`, {
      headers: { "x-amz-mfa": "arn:aws:iam::123456789012:mfa/x 123456" },
      body: `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`,
    });
    expect([mfa.status, codeOf(mfa)]).toEqual([501, "NotImplemented"]);
  });

  it("creates its data directory for its owner only", () => {
    expect(statSync(dataDirectory).mode & 0o777).toBe(0o700);
  });
});

describe("the local endpoint serves local clients only", () => {
  it("refuses a request addressed to another host name (DNS rebinding) and serves loopback names", async () => {
    const rebound = await send("GET", `/${bucket}`, { headers: { host: "attacker.example:4566" } });
    expect([rebound.status, codeOf(rebound)]).toEqual([403, "AccessDenied"]);
    for (const host of ["127.0.0.1:4566", "localhost", "LOCALHOST:1", "[::1]:4566"])
      expect([host, (await send("GET", `/${bucket}`, { headers: { host } })).status]).toEqual([host, 200]);
  });

  it("listens on its one endpoint and no other TCP port (SQS sits behind it on a socket file, not reachable around its checks)", () => {
    expect(listeningTcpPorts()).toEqual([Number(new URL(emulator.endpoint).port)]);
  });

  it("refuses any request carrying an Origin header, as a web page's would", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "from-page.txt", Body: "x" }));
    const xml = deleteXml("from-page.txt");
    const answer = await send("POST", `/${bucket}?delete`, {
      headers: { origin: "https://attacker.example", "content-type": "text/plain", "content-md5": md5(xml) },
      body: xml,
    });
    expect([answer.status, codeOf(answer)]).toEqual([403, "AccessDenied"]);
    expect(await keysOf(bucket)).toContain("from-page.txt");
  });

  it("requires and checks Content-MD5 or a checksum on DeleteObjects, as S3 does", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "batch/one.txt", Body: "x" }));
    const xml = deleteXml("batch/one.txt");
    const bare = await send("POST", `/${bucket}?delete`, { headers: { "content-type": "text/plain" }, body: xml });
    expect([bare.status, codeOf(bare)]).toEqual([400, "InvalidRequest"]);
    const wrong = await send("POST", `/${bucket}?delete`, { headers: { "content-md5": md5("something else") }, body: xml });
    expect([wrong.status, codeOf(wrong)]).toEqual([400, "BadDigest"]);
    const wrongCrc = await send("POST", `/${bucket}?delete`, { headers: { "x-amz-checksum-crc32": "AAAAAA==" }, body: xml });
    expect([wrongCrc.status, codeOf(wrongCrc)]).toEqual([400, "BadDigest"]);
    expect(await keysOf(bucket)).toContain("batch/one.txt");
    const right = await send("POST", `/${bucket}?delete`, { headers: { "content-md5": md5(xml) }, body: xml });
    expect(right.status).toBe(200);
    expect(await keysOf(bucket)).not.toContain("batch/one.txt");
  });

  it("still takes the SDK's DeleteObjects (it sends a checksum), with either checksum setting", async () => {
    for (const requestChecksumCalculation of ["WHEN_SUPPORTED", "WHEN_REQUIRED"] as const) {
      const client = new S3Client({
        region: LOCAL_REGION,
        credentials: localCredentials,
        endpoint: emulator.endpoint,
        forcePathStyle: true,
        requestChecksumCalculation,
      });
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "sdk/batch.txt", Body: "x" }));
      const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "sdk/batch.txt" }] } }));
      expect(result.Deleted).toEqual([{ Key: "sdk/batch.txt" }]);
      expect(await keysOf(bucket)).not.toContain("sdk/batch.txt");
    }
  });
});
