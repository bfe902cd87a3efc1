/**
 * An HTTP proxy in front of an emulator that can cut the connection for chosen requests, so
 * tests (and later the chaos mode) see real network failures through the real SDK clients,
 * not mocked ones.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CapacityGate, type WireResponse } from "./capacity-gate.js";
import type { CapacityModel } from "./capacity-model.js";

export type FaultPredicate = (requestBody: string) => boolean;

/**
 * `reset`: the connection is cut (an outage, as the SDK sees one). `throttle`: DynamoDB's
 * 400 ProvisionedThroughputExceededException, which the SDK retries with backoff.
 * `unprocessed`: a BatchWriteItem succeeds for only the first half of its requests and hands
 * the rest back in UnprocessedItems, as DynamoDB does when a partition is hot
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
 */
export type ProxyFault = "reset" | "throttle" | "unprocessed";

type WriteRequests = Record<string, unknown[]>;

/** Splits a BatchWriteItem body: what is forwarded, and what comes back unprocessed. */
function splitBatchWrite(body: Buffer): { forwarded: Buffer; unprocessed: WriteRequests } | undefined {
  const request = JSON.parse(body.toString("utf8")) as { RequestItems?: WriteRequests };
  if (!request.RequestItems) return undefined;
  const kept: WriteRequests = {};
  const unprocessed: WriteRequests = {};
  for (const [table, requests] of Object.entries(request.RequestItems)) {
    const half = Math.ceil(requests.length / 2);
    kept[table] = requests.slice(0, half);
    if (requests.length > half) unprocessed[table] = requests.slice(half);
  }
  return { forwarded: Buffer.from(JSON.stringify({ ...request, RequestItems: kept })), unprocessed };
}

const THROTTLED_BODY = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message: "The level of configured provisioned throughput for the table was exceeded (injected by bucket-ledger's fault proxy)",
});

export class FaultInjectingProxy {
  private predicate: FaultPredicate = () => false;
  private delayMs = 0;
  private fault: ProxyFault = "reset";
  private readonly server: Server;
  private readonly target: URL;
  private gate: CapacityGate | undefined;
  failedRequests = 0;
  endpoint = "";

  private constructor(target: string) {
    this.target = new URL(target);
    this.server = createServer((incoming, outgoing) => this.handle(incoming, outgoing));
  }

  static async start(target: string): Promise<FaultInjectingProxy> {
    const proxy = new FaultInjectingProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.endpoint = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  private handle(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      if (this.predicate(body.toString("utf8"))) {
        this.failedRequests++;
        const split = this.fault === "unprocessed" ? splitBatchWrite(body) : undefined;
        if (split) {
          this.forward(incoming, outgoing, split.forwarded, (response) => {
            const merged = JSON.parse(response.toString("utf8")) as { UnprocessedItems?: WriteRequests };
            const unprocessed = { ...(merged.UnprocessedItems ?? {}) };
            for (const [table, requests] of Object.entries(split.unprocessed)) unprocessed[table] = [...(unprocessed[table] ?? []), ...requests];
            return Buffer.from(JSON.stringify({ ...merged, UnprocessedItems: unprocessed }));
          });
          return;
        }
        if (this.fault === "throttle") {
          outgoing.writeHead(400, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "fault-proxy" });
          outgoing.end(THROTTLED_BODY);
        } else {
          incoming.socket.destroy();
        }
        return;
      }
      const send = () => (this.gate ? this.throughGate(this.gate, incoming, outgoing, body) : this.forward(incoming, outgoing, body));
      if (this.delayMs > 0) setTimeout(send, this.delayMs);
      else send();
    });
  }

  /**
   * Puts DynamoDB's capacity limits (local/capacity-model.ts) in front of the emulator, or takes
   * them away with `undefined`. Off unless asked for: most tests rely on nothing being throttled.
   */
  useCapacity(model: CapacityModel | undefined): void {
    this.gate = model && new CapacityGate(model, (operation, body) => this.exchange(this.lastHeaders, operation, body));
  }

  /** Headers of the last request seen: the gate's own reads (GetItem, DescribeTable) are signed like the caller's. */
  private lastHeaders: IncomingMessage["headers"] = {};

  private throughGate(gate: CapacityGate, incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer): void {
    this.lastHeaders = incoming.headers;
    const operation = String(incoming.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    gate
      .handle(operation, body)
      .then((response) => {
        outgoing.writeHead(response.status, { ...response.headers, "content-length": String(response.body.length) });
        outgoing.end(response.body);
      })
      .catch(() => incoming.socket.destroy());
  }

  /** One request to the emulator with these headers, the target operation replaced; resolves with the whole response. */
  private exchange(headers: IncomingMessage["headers"], operation: string, body: Buffer): Promise<WireResponse> {
    const { "accept-encoding": _encoding, ...kept } = headers;
    const target = `DynamoDB_20120810.${operation}`;
    return new Promise((resolve, reject) => {
      const forwarded = request(
        {
          hostname: this.target.hostname,
          port: this.target.port,
          path: "/",
          method: "POST",
          headers: { ...kept, "x-amz-target": target, "content-length": String(body.length) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on("error", reject);
        },
      );
      forwarded.on("error", reject);
      forwarded.end(body);
    });
  }

  /** Holds every request this long before forwarding it: a network round trip the emulator does not have. */
  addLatency(ms: number): void {
    this.delayMs = ms;
  }

  /** Sends the request on; `rewrite`, if given, replaces the response body. */
  private forward(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer, rewrite?: (response: Buffer) => Buffer): void {
    const headers = { ...incoming.headers, "content-length": String(body.length) };
    const forwarded = request({ hostname: this.target.hostname, port: this.target.port, path: incoming.url, method: incoming.method, headers }, (response) => {
      if (!rewrite) {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
        return;
      }
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const rewritten = response.statusCode === 200 ? rewrite(Buffer.concat(chunks)) : Buffer.concat(chunks);
        // DynamoDB's CRC32 of the body no longer matches the rewritten one.
        const { "x-amz-crc32": _crc, ...responseHeaders } = response.headers;
        outgoing.writeHead(response.statusCode ?? 502, { ...responseHeaders, "content-length": String(rewritten.length) });
        outgoing.end(rewritten);
      });
    });
    forwarded.on("error", () => incoming.socket.destroy());
    forwarded.end(body);
  }

  /** Fails every request whose body matches, the chosen way; `() => false` heals. */
  failWhen(predicate: FaultPredicate, fault: ProxyFault = "reset"): void {
    this.predicate = predicate;
    this.fault = fault;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
