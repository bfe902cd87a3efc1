/**
 * An HTTP proxy in front of an emulator that can cut the connection for chosen requests, so
 * tests (and later the chaos mode) see real network failures through the real SDK clients,
 * not mocked ones.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultPredicate = (requestBody: string) => boolean;

export class FaultInjectingProxy {
  private predicate: FaultPredicate = () => false;
  failedRequests = 0;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<FaultInjectingProxy> {
    const targetUrl = new URL(target);
    let proxy: FaultInjectingProxy | undefined;
    const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => {
        const body = Buffer.concat(chunks);
        if (proxy!.predicate(body.toString("utf8"))) {
          proxy!.failedRequests++;
          incoming.socket.destroy();
          return;
        }
        const forwarded = request(
          { hostname: targetUrl.hostname, port: targetUrl.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
          (response) => {
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outgoing);
          },
        );
        forwarded.on("error", () => incoming.socket.destroy());
        forwarded.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultInjectingProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** Cut the connection of every request whose body matches; `() => false` heals. */
  failWhen(predicate: FaultPredicate): void {
    this.predicate = predicate;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
