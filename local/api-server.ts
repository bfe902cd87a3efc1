/**
 * The query API on loopback for the local stack: each HTTP request becomes the API Gateway
 * HTTP API (payload 2.0) event Lambda would receive, and goes through the same handler.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { ApiHandler } from "../api/handler.js";
import { foreignRequestReason } from "./loopback-guard.js";
import { PortInUseError } from "./errors.js";

export interface LocalApiServer {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * What API Gateway's HTTP API does to a request before Lambda sees it, so loopback tests
 * exercise AWS's behaviour rather than Node's:
 * - `rawPath` is URL-decoded, and a `?` that decoding produces ends the path (what follows is
 *   lost). REST APIs and function URLs keep the path encoded; HTTP APIs do not
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
 *   and captures published in hotsock/voker#8).
 * - `rawQueryString` is the query string as sent, still percent-encoded;
 *   `queryStringParameters` are decoded, and repeated parameters are joined with commas.
 */
export function toHttpApiEvent(method: string, url: URL, headers: Record<string, string>, now = new Date()): APIGatewayProxyEventV2 {
  const rawQueryString = url.search.slice(1);
  const parameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  const decodedPath = decodeURIComponent(url.pathname);
  const rawPath = decodedPath.includes("?") ? decodedPath.slice(0, decodedPath.indexOf("?")) : decodedPath;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString && { queryStringParameters: parameters }),
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: url.host,
      domainPrefix: "local",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
      requestId: crypto.randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
  };
}

export async function startLocalApiServer(handler: ApiHandler, port = 0): Promise<LocalApiServer> {
  const server: Server = createServer((request, response) => {
    const refused = foreignRequestReason(request.headers);
    if (refused) {
      response.writeHead(403, { "content-type": "application/json" });
      response.end(JSON.stringify({ message: refused }));
      return;
    }
    const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "127.0.0.1"}`);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : (value ?? "")]));
    let event: APIGatewayProxyEventV2;
    try {
      event = toHttpApiEvent(request.method ?? "GET", url, headers);
    } catch {
      // A path whose percent-encoding does not decode never reaches the integration.
      response.writeHead(400, { "content-type": "application/json" });
      response.end(JSON.stringify({ message: "Bad Request" }));
      return;
    }
    handler(event)
      .then((result) => {
        response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
        response.end(result.body ?? "");
      })
      .catch((error: unknown) => {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "InternalError", message: (error as Error).message }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(port, "the query API") : error));
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
