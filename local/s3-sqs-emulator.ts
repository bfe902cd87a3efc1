/**
 * S3 and SQS on one loopback endpoint, as one AWS_ENDPOINT_URL serves both.
 *
 * - S3 is bucket-ledger's own (local/s3/): objects on disk, streamed, persistent across
 *   restarts on the same directory, and what everyday clients send (single PUTs to 5 GiB,
 *   multipart uploads whose XML is parsed as XML, UploadPartCopy, ranges, URL-encoded
 *   listings in byte order). fauxqs's S3 holds every object in memory, caps request bodies at
 *   11 MiB, matches CompleteMultipartUpload with regular expressions and has no
 *   UploadPartCopy, so rclone and boto3 failed against it; patching it would have meant
 *   rewriting it.
 * - SQS is fauxqs's (DLQ redrive, visibility timeouts, long polling), behind this server on a
 *   port of its own; SQS requests are passed through untouched.
 *
 * Every committed write and delete is reported synchronously with a sequencer, in commit
 * order, for the local S3 event notifications.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PortInUseError } from "./errors.js";
import { assertPortFree } from "./ports.js";
import { foreignRequestReason } from "./loopback-guard.js";
import { S3Error } from "./s3/errors.js";
import { DiskObjectStore, type StoreCommit } from "./s3/object-store.js";
import { createS3Handler } from "./s3/s3-handler.js";
import { SequencerClock } from "./sequencer-clock.js";

/** A committed write or delete, with the sequencer its notification carries. */
export type S3Commit = StoreCommit & { sequencer: string };

export type S3CommitListener = (commit: S3Commit) => void;

/** The part of fauxqs's fastify app we use. */
interface FauxqsApp {
  listen(options: { path: string }): Promise<string>;
  close(): Promise<void>;
}

interface FauxqsInternals {
  buildApp(options: { logger: boolean; defaultRegion: string; stores: { sqsStore: unknown } }): FauxqsApp;
  SqsStore: new () => { host: string };
}

/** fauxqs's dist/ folder, found the way Node finds packages (its exports map hides it). */
function fauxqsDistUrl(): URL {
  const candidates = createRequire(import.meta.url).resolve.paths("fauxqs") ?? [];
  const root = candidates.map((dir) => join(dir, "fauxqs")).find((dir) => existsSync(join(dir, "package.json")));
  if (!root) throw new Error("fauxqs is not installed; run npm ci");
  return pathToFileURL(join(root, "dist", "/"));
}

async function loadFauxqs(): Promise<FauxqsInternals> {
  const dist = fauxqsDistUrl();
  const internal = (path: string) => import(new URL(path, dist).href);
  const [app, sqs] = await Promise.all([internal("./app.js"), internal("./sqs/sqsStore.js")]);
  return { buildApp: app.buildApp as unknown as FauxqsInternals["buildApp"], SqsStore: sqs.SqsStore };
}

/**
 * SQS's JSON protocol names its operation in `x-amz-target`; its query protocol POSTs a form to
 * `/` or to a queue URL's path (`/<account>/<queue>`). S3 never POSTs to either.
 */
export function isSqsRequest(request: IncomingMessage): boolean {
  const target = request.headers["x-amz-target"];
  if (typeof target === "string" && target.startsWith("AmazonSQS")) return true;
  const form = String(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
  const path = (request.url ?? "/").split("?")[0]!;
  return request.method === "POST" && form && (path === "/" || /^\/\d{12}\/[^/]+$/.test(path));
}

function passThrough(request: IncomingMessage, response: ServerResponse, socketPath: string): void {
  // The Host header is kept: fauxqs builds queue URLs from it, and they must name this endpoint.
  const upstream = httpRequest({ socketPath, method: request.method, path: request.url, headers: request.headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on("error", (error) => {
    response.writeHead(502, { "content-type": "text/plain" });
    response.end(`SQS emulator unavailable: ${error.message}`);
  });
  request.pipe(upstream);
}

export interface S3SqsEmulator {
  /** One endpoint for both S3 (path-style, as the SDK uses for IP hosts) and SQS. */
  endpoint: string;
  onCommit(listener: S3CommitListener): () => void;
  /** An S3 Lifecycle transition of one object, as a lifecycle rule would make it (notified as LifecycleTransition). */
  transition(bucket: string, key: string, storageClass: string): Promise<void>;
  stop(): Promise<void>;
}

export interface S3SqsEmulatorOptions {
  port?: number;
  region: string;
  /** Keep buckets and objects here across restarts (a temporary directory without it). */
  s3Directory?: string;
}

export async function startS3SqsEmulator(options: S3SqsEmulatorOptions): Promise<S3SqsEmulator> {
  if (options.port) await assertPortFree(options.port, "the S3 + SQS emulator (--aws-port)");
  const fauxqs = await loadFauxqs();
  const temporary = options.s3Directory === undefined ? await mkdtemp(join(tmpdir(), "bucket-ledger-s3-")) : undefined;
  const s3Directory = options.s3Directory ?? temporary!;
  const store = new DiskObjectStore(s3Directory);
  const listeners = new Set<S3CommitListener>();
  const clock = new SequencerClock();
  store.onCommit((commit) => {
    const sequenced = { ...commit, sequencer: clock.next() };
    for (const listener of listeners) listener(sequenced);
  });

  const sqsStore = new fauxqs.SqsStore();
  // Queue URLs on the host the request came to (this endpoint), not fauxqs's
  // sqs.<region>.localhost, which does not resolve: the SDK sends each request to its queue
  // URL's host when no endpoint is configured in code (as with AWS_ENDPOINT_URL_SQS), and an
  // AWS queue URL always names a reachable endpoint.
  sqsStore.host = "";
  const sqs = fauxqs.buildApp({ logger: false, defaultRegion: options.region, stores: { sqsStore } });
  // On a socket only this user can reach, not a TCP port: every request comes through the
  // endpoint below and its Host and Origin checks, none straight to fauxqs (which checks neither).
  const socketDirectory = await mkdtemp(join(tmpdir(), "bucket-ledger-sqs-"));
  const sqsSocket = join(socketDirectory, "sqs.sock");
  await sqs.listen({ path: sqsSocket });

  const s3 = createS3Handler(store);
  const server = createServer((request, response) => {
    const refusal = foreignRequestReason(request.headers);
    if (refusal !== undefined) {
      request.resume();
      const body = new S3Error(403, "AccessDenied", refusal).toXml((request.url ?? "/").split("?")[0]!, randomUUID());
      response.writeHead(403, { "content-type": "application/xml", "content-length": String(Buffer.byteLength(body)), connection: "close" });
      response.end(body);
    } else if (isSqsRequest(request)) passThrough(request, response, sqsSocket);
    else void s3(request, response);
  });
  // Large uploads take long: Node's default request timeout (5 minutes) would cut them off.
  server.requestTimeout = 0;
  // Node closes an idle keep-alive connection after 5 s, about when clients reuse it, and the
  // request then sent on it dies with ECONNRESET (seen once in the suite). A server should keep
  // idle connections longer than its clients' pools do; stop() closes them all anyway.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(error.code === "EADDRINUSE" ? new PortInUseError(options.port ?? 0, "the S3 + SQS emulator (--aws-port)") : error),
      );
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
  } catch (error) {
    await sqs.close();
    await rm(socketDirectory, { recursive: true, force: true });
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    transition: (bucket, key, storageClass) => store.transition(bucket, key, storageClass),
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      listeners.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sqs.close();
      await rm(socketDirectory, { recursive: true, force: true });
      if (temporary) await rm(temporary, { recursive: true, force: true });
    },
  };
}
