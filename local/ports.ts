import { createServer } from "node:net";
import { PortInUseError } from "./errors.js";

/** A loopback port free right now, for emulators that need a port number up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Fails fast with a clear message instead of a JVM stack trace or EADDRINUSE. */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(port, what) : error));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}
