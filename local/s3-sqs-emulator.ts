/**
 * S3 and SQS on loopback, from fauxqs, plus what fauxqs lacks: S3 event notifications, and
 * URL-encoded listings (local/s3-list-encoding.ts).
 *
 * fauxqs keeps objects in an S3Store class; we give it a subclass that reports every
 * committed write and delete synchronously, at the moment the object map changes, so the
 * sequencer order is the commit order, exactly as S3 defines it. The store classes are not in
 * fauxqs's public exports, so they are imported by file path; fauxqs is pinned to the version
 * this was written against, and the integration tests fail loudly if that ever changes.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assertPortFree } from "./ports.js";
import { urlEncodeListing, wantsUrlEncodedListing } from "./s3-list-encoding.js";
import { SequencerClock } from "./sequencer-clock.js";

export type S3CommitEventName =
  | "ObjectCreated:Put"
  | "ObjectCreated:Copy"
  | "ObjectCreated:CompleteMultipartUpload"
  | "ObjectRemoved:Delete";

export interface S3Commit {
  eventName: S3CommitEventName;
  bucket: string;
  key: string;
  /** Absent for deletes. */
  size?: number;
  /** Quoted, as fauxqs stores it; absent for deletes. */
  etag?: string;
  time: Date;
  sequencer: string;
}

export type S3CommitListener = (commit: S3Commit) => void;

interface StoredObject {
  body: Buffer;
  contentLength: number;
  etag: string;
  lastModified: Date;
}

interface S3StoreBase {
  putObject(bucket: string, key: string, body: Buffer, contentType?: string, metadata?: Record<string, string>): StoredObject;
  getObject(bucket: string, key: string): StoredObject;
  deleteObject(bucket: string, key: string): void;
  completeMultipartUpload(uploadId: string, parts: unknown): StoredObject & { key: string };
  multipartUploads: Map<string, { bucket: string; key: string }>;
}

type Constructor<T> = new () => T;

/** The part of fauxqs's fastify app we use. */
interface FauxqsApp {
  listen(options: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
  addHook(name: "onSend", hook: (request: { query: unknown }, reply: unknown, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => void): void;
}

interface FauxqsInternals {
  buildApp(options: { logger: boolean; defaultRegion: string; stores: { s3Store: unknown; sqsStore: unknown; snsStore: unknown } }): FauxqsApp;
  S3Store: Constructor<S3StoreBase>;
  SqsStore: Constructor<unknown>;
  SnsStore: Constructor<unknown>;
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
  const [app, s3, sqs, sns] = await Promise.all([internal("./app.js"), internal("./s3/s3Store.js"), internal("./sqs/sqsStore.js"), internal("./sns/snsStore.js")]);
  return { buildApp: app.buildApp as unknown as FauxqsInternals["buildApp"], S3Store: s3.S3Store, SqsStore: sqs.SqsStore, SnsStore: sns.SnsStore };
}

function notifyingStoreClass(Base: Constructor<S3StoreBase>, emit: (commit: Omit<S3Commit, "sequencer">) => void): Constructor<S3StoreBase> {
  return class NotifyingS3Store extends Base {
    /** CopyObject reads the source and then writes its very Buffer; that is how a copy is recognised. */
    private lastRead: StoredObject | undefined;

    override getObject(bucket: string, key: string): StoredObject {
      const object = super.getObject(bucket, key);
      this.lastRead = object;
      return object;
    }

    override putObject(bucket: string, key: string, body: Buffer, contentType?: string, metadata?: Record<string, string>): StoredObject {
      const isCopy = this.lastRead !== undefined && this.lastRead.body === body;
      this.lastRead = undefined;
      const object = super.putObject(bucket, key, body, contentType, metadata);
      emit({ eventName: isCopy ? "ObjectCreated:Copy" : "ObjectCreated:Put", bucket, key, size: object.contentLength, etag: object.etag, time: object.lastModified });
      return object;
    }

    override completeMultipartUpload(uploadId: string, parts: unknown): StoredObject & { key: string } {
      const upload = this.multipartUploads.get(uploadId);
      const object = super.completeMultipartUpload(uploadId, parts);
      if (upload) {
        emit({ eventName: "ObjectCreated:CompleteMultipartUpload", bucket: upload.bucket, key: upload.key, size: object.contentLength, etag: object.etag, time: object.lastModified });
      }
      return object;
    }

    override deleteObject(bucket: string, key: string): void {
      super.deleteObject(bucket, key);
      // S3 notifies deletes of absent keys too: DeleteObject succeeds either way.
      emit({ eventName: "ObjectRemoved:Delete", bucket, key, time: new Date() });
    }
  };
}

export interface S3SqsEmulator {
  /** One endpoint for both S3 (path-style, as the SDK uses for IP hosts) and SQS. */
  endpoint: string;
  onCommit(listener: S3CommitListener): () => void;
  stop(): Promise<void>;
}

export async function startS3SqsEmulator(options: { port?: number; region: string }): Promise<S3SqsEmulator> {
  if (options.port) await assertPortFree(options.port, "the S3 + SQS emulator (--aws-port)");
  const fauxqs = await loadFauxqs();
  const listeners = new Set<S3CommitListener>();
  const clock = new SequencerClock();
  const NotifyingS3Store = notifyingStoreClass(fauxqs.S3Store, (commit) => {
    const sequenced = { ...commit, sequencer: clock.next() };
    for (const listener of listeners) listener(sequenced);
  });
  const sqsStore = new fauxqs.SqsStore() as { host: string };
  // Queue URLs on the host the request came to (127.0.0.1:port), not fauxqs's
  // sqs.<region>.localhost, which does not resolve: the SDK sends each request to its queue
  // URL's host when no endpoint is configured in code (as with AWS_ENDPOINT_URL_SQS), and an
  // AWS queue URL always names a reachable endpoint.
  sqsStore.host = "";
  const app = fauxqs.buildApp({
    logger: false,
    defaultRegion: options.region,
    stores: { s3Store: new NotifyingS3Store(), sqsStore, snsStore: new fauxqs.SnsStore() },
  });
  app.addHook("onSend", (request, _reply, payload, done) => {
    done(null, wantsUrlEncodedListing(request.query, payload) ? urlEncodeListing(payload) : payload);
  });
  const address = await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  return {
    endpoint: address.replace("localhost", "127.0.0.1"),
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      listeners.clear();
      await app.close();
    },
  };
}
