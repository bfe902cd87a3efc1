/**
 * The query API, in API Gateway HTTP API (payload 2.0) terms. Lambda (functions/api.ts) and
 * the local stack's loopback server (local/api-server.ts) both serve requests through this
 * handler:
 *
 *   GET /buckets/{bucket}/objects?prefix=&cursor=&limit=   live objects in key order
 *   GET /buckets/{bucket}/objects/{key+}                   one object's record (or tombstone)
 *   GET /buckets/{bucket}/changes?since=&cursor=&limit=    changes in recording order
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

const limitSchema = z.coerce.number({ error: "limit must be a number" }).int("limit must be a whole number").min(1, "limit must be at least 1").max(MAX_LIMIT, `limit must be at most ${MAX_LIMIT}`).default(100);

const objectsQuerySchema = z.strictObject({ prefix: z.string().optional(), cursor: z.string().min(1).optional(), limit: limitSchema });

const changesQuerySchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true, error: "since must be an ISO-8601 time such as 2026-11-21T09:00:00Z" }).optional(),
    cursor: z.string().min(1).optional(),
    limit: limitSchema,
  })
  .refine((query) => query.since !== undefined || query.cursor !== undefined, { message: "since is required (or a cursor from an earlier page)", path: ["since"] });

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

function parseQuery<T extends z.ZodType>(schema: T, event: APIGatewayProxyEventV2): z.infer<T> {
  const parsed = schema.safeParse(event.queryStringParameters ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.code === "unrecognized_keys" ? `unknown parameter ${issue.keys.join(", ")}` : issue.message));
    throw new HttpError(400, "BadRequest", problems.join("; "));
  }
  return parsed.data;
}

type Route = { kind: "objects"; bucket: string } | { kind: "object"; bucket: string; key: string } | { kind: "changes"; bucket: string };

/** From the raw (still percent-encoded) path, so keys with `/`, `%` or `+` come through exactly. */
function route(rawPath: string): Route {
  const match = /^\/buckets\/([^/]+)\/(objects|changes)(?:\/(.+))?$/.exec(rawPath);
  if (!match) throw new HttpError(404, "NotFound", `no route for ${rawPath}`);
  const [, bucket, collection, encodedKey] = match as unknown as [string, string, string, string | undefined];
  if (collection === "changes" && encodedKey !== undefined) throw new HttpError(404, "NotFound", `no route for ${rawPath}`);
  if (encodedKey === undefined) return { kind: collection as "objects" | "changes", bucket };
  try {
    return { kind: "object", bucket, key: decodeURIComponent(encodedKey) };
  } catch {
    throw new HttpError(400, "BadRequest", "the object key in the path is not valid percent-encoding");
  }
}

export function createApiHandler(deps: ApiDependencies): ApiHandler {
  const { ledger } = deps;
  const tracked = new Set(deps.buckets);

  const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    if (event.requestContext.http.method !== "GET") throw new HttpError(405, "MethodNotAllowed", "only GET is supported");
    const target = route(event.rawPath);
    if (!tracked.has(target.bucket)) throw new HttpError(404, "NotFound", `bucket ${target.bucket} is not tracked by this ledger`);
    switch (target.kind) {
      case "objects": {
        const query = parseQuery(objectsQuerySchema, event);
        const page = await ledger.listPage({ bucket: target.bucket, limit: query.limit, ...(query.prefix !== undefined && { prefix: query.prefix }), ...(query.cursor !== undefined && { cursor: query.cursor }) });
        return json(200, page);
      }
      case "changes": {
        const query = parseQuery(changesQuerySchema, event);
        // A cursor carries its own position; `since` only starts a feed.
        const since = query.since !== undefined ? new Date(query.since) : ledger.changeHorizon();
        const page = await ledger.changesPage({ bucket: target.bucket, since, limit: query.limit, ...(query.cursor !== undefined && { cursor: query.cursor }) });
        return json(200, page);
      }
      case "object": {
        parseQuery(z.strictObject({}), event);
        const record = await ledger.get(target.bucket, target.key);
        if (!record) throw new HttpError(404, "NotFound", `no record of ${JSON.stringify(target.key)} in ${target.bucket}`);
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
