/**
 * The query API, in API Gateway HTTP API (payload 2.0) terms. Lambda (functions/api.ts) and
 * the local stack's loopback server (local/api-server.ts) both serve requests through this
 * handler:
 *
 *   GET /buckets/{bucket}/objects?prefix=&cursor=&limit=   live objects in key order
 *   GET /buckets/{bucket}/object?key=                      one object's record (or tombstone)
 *   GET /buckets/{bucket}/changes?since=&cursor=&limit=    changes in recording order
 *   GET /buckets/{bucket}/history?key=&cursor=&limit=      the changes of one key kept in the journal
 *   GET /buckets/{bucket}/objects?asOf=&prefix=&cursor=&limit=   the objects as they were at a past moment
 *   GET /buckets/{bucket}/diff?from=&to=&prefix=&cursor=&limit=  each key's net change between two moments
 *
 * The object key travels in the query string, never in the path: an HTTP API hands Lambda a
 * URL-decoded `rawPath`, and a decoded `?` ends the path before Lambda sees it, while REST
 * APIs and function URLs keep the path encoded. No key survives that in every case. The query
 * string arrives as sent (`rawQueryString` stays percent-encoded), so parameters are decoded
 * here, exactly once, with URLSearchParams.
 *
 * Bad parameters are 400 with a JSON body naming the parameter; an untracked bucket, an
 * unknown route or a key the ledger never saw is 404. A moment time travel cannot answer for
 * exactly (older than what the ledger keeps, or to come) is 422, naming the bound: the request
 * was understood, and the ledger refuses it (the CLI's exit 3).
 *
 * Cursors are signed (api/cursor-envelope.ts): one this API did not issue, or an expired one, is
 * a 400. No request may cost much: each stops at a deadline, a number of Queries and a response
 * size (see `ApiLimits`), answering with what it has and a cursor to go on from, possibly with no
 * items. A client that follows cursors until none is returned has read everything.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { z } from "zod";
import { pageHistory } from "../ledger/history.js";
import { listCursorAfter } from "../ledger/cursor.js";
import { takePage } from "../ledger/paging.js";
import { ChangeHorizonError, InvalidCursorError, InvalidMomentError, InvalidObjectKeyError, TimeTravelHorizonError, type Ledger } from "../ledger/index.js";
import type { WorkBudget } from "../ledger/queries.js";
import { openCursor, sealCursor } from "./cursor-envelope.js";
import { publicBody } from "./public-view.js";

export interface ApiDependencies {
  ledger: Ledger;
  /** Tracked buckets; anything else is 404, so the API never reveals what it does not serve. */
  buckets: readonly string[];
  /** Called with unexpected errors, which become a 500. */
  onError?: (error: unknown) => void;
  /** The cursor-signing key; by default the ledger's (`Ledger.cursorKey`), read once per handler. */
  cursorKey?: () => Promise<Uint8Array>;
  /** Overrides of `API_LIMITS` (tests). */
  limits?: Partial<ApiLimits>;
  /**
   * A public API (`apiAuthorization: none`): every answer without origin, user metadata, tags
   * or KMS key ARNs (api/public-view.ts).
   */
  publicView?: boolean;
}

/** What one request may cost. */
export interface ApiLimits {
  /**
   * Milliseconds a request may spend reading before it answers with what it has: well under the
   * function's 29 s timeout (infra/query-api.ts), so a reply always beats it.
   */
  workMs: number;
  /** Query requests one request may send (every page of every shard and day). */
  maxQueries: number;
  /**
   * Bytes of items in one response, as Lambda carries them: each item is JSON in a body that is
   * itself a JSON string in Lambda's response, so it is measured encoded twice. A synchronous
   * invocation's response may be at most 6 MB (Lambda Invoke API reference:
   * https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html; Lambda quotas:
   * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); this leaves room
   * for the cursor, headers and the rest of the envelope.
   */
  maxItemBytes: number;
}

export const API_LIMITS: ApiLimits = { workMs: 10_000, maxQueries: 200, maxItemBytes: 5_000_000 };

/** An item's bytes in Lambda's response payload (see `ApiLimits.maxItemBytes`). */
export function responseBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(item)), "utf8");
}

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const MAX_LIMIT = 1000;

const limitSchema = z.coerce
  .number({ error: "limit must be a number" })
  .int("limit must be a whole number")
  .min(1, "limit must be at least 1")
  .max(MAX_LIMIT, `limit must be at most ${MAX_LIMIT}`)
  .default(100);

const objectQuerySchema = z.strictObject({
  key: z.string({ error: "key is required: ?key=<URL-encoded key>" }).min(1, "key must not be empty"),
});

/** A list cursor carries a prefix and a key (each up to 1,024 bytes), base64 and signed. */
const cursorSchema = z.string().min(1).max(8192, "cursor is not one this API issued");

const moment = (name: string) => z.iso.datetime({ offset: true, error: `${name} must be an ISO-8601 time such as 2026-11-21T09:00:00Z` });

const objectsQuerySchema = z.strictObject({
  prefix: z.string().optional(),
  cursor: cursorSchema.optional(),
  limit: limitSchema,
  asOf: moment("asOf").optional(),
});

const diffQuerySchema = z
  .strictObject({ from: moment("from"), to: moment("to").optional(), prefix: z.string().optional(), cursor: cursorSchema.optional(), limit: limitSchema })
  .refine((query) => query.to === undefined || Date.parse(query.from) < Date.parse(query.to), { message: "from must come before to", path: ["to"] });

const historyQuerySchema = objectQuerySchema.extend({ cursor: cursorSchema.optional(), limit: limitSchema });

const changesQuerySchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true, error: "since must be an ISO-8601 time such as 2026-11-21T09:00:00Z" }).optional(),
    cursor: cursorSchema.optional(),
    limit: limitSchema,
  })
  .refine((query) => query.since !== undefined || query.cursor !== undefined, {
    message: "since is required (or a cursor from an earlier page)",
    path: ["since"],
  });

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify(body) };
}

/** Parameters from the raw query string, decoded once; a repeated parameter is ambiguous, so refused. */
function queryParameters(event: APIGatewayProxyEventV2): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(event.rawQueryString ?? "")) {
    if (name in parameters) throw new HttpError(400, "BadRequest", `parameter ${name} is given more than once`);
    parameters[name] = value;
  }
  return parameters;
}

function parseQuery<T extends z.ZodType>(schema: T, event: APIGatewayProxyEventV2): z.infer<T> {
  const parsed = schema.safeParse(queryParameters(event));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.code === "unrecognized_keys" ? `unknown parameter ${issue.keys.join(", ")}` : issue.message));
    throw new HttpError(400, "BadRequest", problems.join("; "));
  }
  return parsed.data;
}

type Collection = "objects" | "object" | "changes" | "history" | "diff";

/** Bucket names hold only letters, digits, `.` and `-`, so the decoded path is safe to match. */
function route(rawPath: string): { collection: Collection; bucket: string } {
  const match = /^\/buckets\/([a-z0-9][a-z0-9.-]*)\/(objects|object|changes|history|diff)$/.exec(rawPath);
  if (!match) throw new HttpError(404, "NotFound", `no route for ${rawPath}; object keys go in the query string: /buckets/{bucket}/object?key=...`);
  return { bucket: match[1]!, collection: match[2] as Collection };
}

/** DynamoDB's answer to a request it finds invalid (HTTP 400): https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html */
function isValidationException(error: unknown): error is Error {
  return error instanceof Error && error.name === "ValidationException";
}

export function createApiHandler(deps: ApiDependencies): ApiHandler {
  const { ledger } = deps;
  const tracked = new Set(deps.buckets);
  const limits = { ...API_LIMITS, ...deps.limits };
  const readKey = deps.cursorKey ?? (() => ledger.cursorKey());
  let key: Promise<Uint8Array> | undefined;
  const cursorKey = () => {
    if (!key) {
      key = readKey();
      // A failed read is tried again by the next request.
      key.catch(() => (key = undefined));
    }
    return key;
  };
  const open = async (cursor: string | undefined) => (cursor === undefined ? {} : { cursor: openCursor(await cursorKey(), cursor) });
  const seal = async <T extends { cursor?: string }>(page: T): Promise<T> =>
    page.cursor === undefined ? page : { ...page, cursor: sealCursor(await cursorKey(), page.cursor) };
  // Every answer with data goes out through here, so a public API withholds the same everywhere.
  const ok = (body: unknown) => json(200, deps.publicView ? publicBody(body) : body);
  const budget = (): WorkBudget => ({
    deadline: Date.now() + limits.workMs,
    maxQueries: limits.maxQueries,
    maxBytes: limits.maxItemBytes,
    sizeOf: responseBytes,
  });

  const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    if (event.requestContext.http.method !== "GET") throw new HttpError(405, "MethodNotAllowed", "only GET is supported");
    const target = route(event.rawPath);
    if (!tracked.has(target.bucket)) throw new HttpError(404, "NotFound", `bucket ${target.bucket} is not tracked by this ledger`);
    // A time-travel page is bounded like a listing's (its journal reads too: ledger/time-travel/key-scan.ts)
    // and resumes from a listing cursor after its last key.
    const timeTravel = (prefix: string | undefined) => ({
      cursorAfter: (entry: { key: string }) => listCursorAfter(target.bucket, prefix, entry.key),
      scope: { bucket: target.bucket, budget: budget(), ...(prefix !== undefined && { prefix }) },
    });
    switch (target.collection) {
      case "objects": {
        const query = parseQuery(objectsQuerySchema, event);
        if (query.asOf !== undefined) {
          const { scope, cursorAfter } = timeTravel(query.prefix);
          const at = new Date(query.asOf);
          const page = await takePage(ledger.asOf({ ...scope, at, ...(await open(query.cursor)) }), query.limit, cursorAfter);
          return ok(await seal({ asOf: at.toISOString(), ...page }));
        }
        const page = await ledger.listPage({
          bucket: target.bucket,
          limit: query.limit,
          budget: budget(),
          ...(query.prefix !== undefined && { prefix: query.prefix }),
          ...(await open(query.cursor)),
        });
        return ok(await seal(page));
      }
      case "changes": {
        const query = parseQuery(changesQuerySchema, event);
        // A cursor carries its own position; `since` only starts a feed.
        const since = query.since !== undefined ? new Date(query.since) : ledger.changeHorizon();
        const page = await ledger.changesPage({
          bucket: target.bucket,
          since,
          limit: query.limit,
          budget: budget(),
          ...(await open(query.cursor)),
        });
        return ok(await seal(page));
      }
      case "diff": {
        const query = parseQuery(diffQuerySchema, event);
        const { scope, cursorAfter } = timeTravel(query.prefix);
        const from = new Date(query.from);
        const to = query.to !== undefined ? new Date(query.to) : undefined;
        const page = await takePage(ledger.diff({ ...scope, from, ...(to && { to }), ...(await open(query.cursor)) }), query.limit, cursorAfter);
        return ok(await seal({ from: from.toISOString(), ...(to && { to: to.toISOString() }), ...page }));
      }
      case "history": {
        const query = parseQuery(historyQuerySchema, event);
        const opened = await open(query.cursor);
        const history = await ledger.history(target.bucket, query.key);
        const page = pageHistory(history, { limit: query.limit, maxBytes: limits.maxItemBytes, sizeOf: responseBytes, ...opened });
        return ok(await seal(page));
      }
      case "object": {
        const { key } = parseQuery(objectQuerySchema, event);
        const record = await ledger.get(target.bucket, key);
        if (!record) throw new HttpError(404, "NotFound", `no record of ${JSON.stringify(key)} in ${target.bucket}`);
        return ok(record);
      }
    }
  };

  return async (event) => {
    try {
      return await serve(event);
    } catch (error) {
      if (error instanceof HttpError) return json(error.statusCode, { error: error.code, message: error.message });
      if (error instanceof TimeTravelHorizonError) {
        return json(422, {
          error: "OutsideHorizon",
          message: error.message,
          bound: error.bound,
          ...(error.earliest && { earliest: error.earliest.toISOString() }),
        });
      }
      if (
        error instanceof InvalidCursorError ||
        error instanceof ChangeHorizonError ||
        error instanceof InvalidObjectKeyError ||
        error instanceof InvalidMomentError
      ) {
        return json(400, { error: "BadRequest", message: error.message });
      }
      // Parameters no check here caught but DynamoDB refuses are the client's error, not ours.
      if (isValidationException(error)) return json(400, { error: "BadRequest", message: `the ledger cannot answer this request: ${error.message}` });
      deps.onError?.(error);
      return json(500, { error: "InternalError", message: "the ledger could not answer; see the function's logs" });
    }
  };
}
