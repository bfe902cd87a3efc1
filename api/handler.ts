/**
 * The query API, in API Gateway HTTP API (payload 2.0) terms. Lambda (functions/api.ts) and
 * the local stack's loopback server (local/api-server.ts) both serve requests through this
 * handler:
 *
 *   GET /buckets/{bucket}/objects?prefix=&cursor=&limit=   live objects in key order
 *   GET /buckets/{bucket}/object?key=                      one object's record (or tombstone)
 *   GET /buckets/{bucket}/changes?since=&cursor=&limit=    changes in recording order
 *   GET /buckets/{bucket}/history?key=                     every change of one key kept in the journal
 *
 * The object key travels in the query string, never in the path: an HTTP API hands Lambda a
 * URL-decoded `rawPath`, and a decoded `?` ends the path before Lambda sees it, while REST
 * APIs and function URLs keep the path encoded. No key survives that in every case. The query
 * string arrives as sent (`rawQueryString` stays percent-encoded), so parameters are decoded
 * here, exactly once, with URLSearchParams.
 *
 * Bad parameters are 400 with a JSON body naming the parameter; an untracked bucket, an
 * unknown route or a key the ledger never saw is 404.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { z } from "zod";
import { ChangeHorizonError, InvalidCursorError, InvalidObjectKeyError, type Ledger } from "../ledger/index.js";

export interface ApiDependencies {
  ledger: Ledger;
  /** Tracked buckets; anything else is 404, so the API never reveals what it does not serve. */
  buckets: readonly string[];
  /** Called with unexpected errors, which become a 500. */
  onError?: (error: unknown) => void;
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

const objectsQuerySchema = z.strictObject({ prefix: z.string().optional(), cursor: z.string().min(1).optional(), limit: limitSchema });

const changesQuerySchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true, error: "since must be an ISO-8601 time such as 2026-11-21T09:00:00Z" }).optional(),
    cursor: z.string().min(1).optional(),
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

type Collection = "objects" | "object" | "changes" | "history";

/** Bucket names hold only letters, digits, `.` and `-`, so the decoded path is safe to match. */
function route(rawPath: string): { collection: Collection; bucket: string } {
  const match = /^\/buckets\/([a-z0-9][a-z0-9.-]*)\/(objects|object|changes|history)$/.exec(rawPath);
  if (!match) throw new HttpError(404, "NotFound", `no route for ${rawPath}; object keys go in the query string: /buckets/{bucket}/object?key=...`);
  return { bucket: match[1]!, collection: match[2] as Collection };
}

export function createApiHandler(deps: ApiDependencies): ApiHandler {
  const { ledger } = deps;
  const tracked = new Set(deps.buckets);

  const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    if (event.requestContext.http.method !== "GET") throw new HttpError(405, "MethodNotAllowed", "only GET is supported");
    const target = route(event.rawPath);
    if (!tracked.has(target.bucket)) throw new HttpError(404, "NotFound", `bucket ${target.bucket} is not tracked by this ledger`);
    switch (target.collection) {
      case "objects": {
        const query = parseQuery(objectsQuerySchema, event);
        const page = await ledger.listPage({
          bucket: target.bucket,
          limit: query.limit,
          ...(query.prefix !== undefined && { prefix: query.prefix }),
          ...(query.cursor !== undefined && { cursor: query.cursor }),
        });
        return json(200, page);
      }
      case "changes": {
        const query = parseQuery(changesQuerySchema, event);
        // A cursor carries its own position; `since` only starts a feed.
        const since = query.since !== undefined ? new Date(query.since) : ledger.changeHorizon();
        const page = await ledger.changesPage({
          bucket: target.bucket,
          since,
          limit: query.limit,
          ...(query.cursor !== undefined && { cursor: query.cursor }),
        });
        return json(200, page);
      }
      case "history": {
        const { key } = parseQuery(objectQuerySchema, event);
        return json(200, await ledger.history(target.bucket, key));
      }
      case "object": {
        const { key } = parseQuery(objectQuerySchema, event);
        const record = await ledger.get(target.bucket, key);
        if (!record) throw new HttpError(404, "NotFound", `no record of ${JSON.stringify(key)} in ${target.bucket}`);
        return json(200, record);
      }
    }
  };

  return async (event) => {
    try {
      return await serve(event);
    } catch (error) {
      if (error instanceof HttpError) return json(error.statusCode, { error: error.code, message: error.message });
      if (error instanceof InvalidCursorError || error instanceof ChangeHorizonError || error instanceof InvalidObjectKeyError) {
        return json(400, { error: "BadRequest", message: error.message });
      }
      deps.onError?.(error);
      return json(500, { error: "InternalError", message: "the ledger could not answer; see the function's logs" });
    }
  };
}
