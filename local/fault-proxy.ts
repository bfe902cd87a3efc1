/**
 * An HTTP proxy in front of an emulator that can cut the connection for chosen requests, so
 * tests (and later the chaos mode) see real network failures through the real SDK clients,
 * not mocked ones.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultPredicate = (requestBody: string) => boolean;

/**
 * `reset`: the connection is cut (an outage, as the SDK sees one). `throttle`: DynamoDB's
 * 400 ProvisionedThroughputExceededException, which the SDK retries with backoff.
 */
export type ProxyFault = "reset" | "throttle";

const THROTTLED_BODY = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message: "The level of configured provisioned throughput for the table was exceeded (injected by bucket-ledger's fault proxy)",
});

export class FaultInjectingProxy {
  private predicate: FaultPredicate = () => false;
  private fault: ProxyFault = "reset";
  private readonly server: Server;
  private readonly target: URL;
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
        if (this.fault === "throttle") {
          outgoing.writeHead(400, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "fault-proxy" });
          outgoing.end(THROTTLED_BODY);
        } else {
          incoming.socket.destroy();
        }
        return;
      }
      const forwarded = request(
        { hostname: this.target.hostname, port: this.target.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forwarded.on("error", () => incoming.socket.destroy());
      forwarded.end(body);
    });
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
