/**
 * KMS authorization in front of the local S3, which has no IAM: a caller that may not use an
 * object's KMS key is refused what S3 refuses it. Only the call the ledger's code makes is
 * modelled: HeadObject with ChecksumMode ENABLED of an object under a KMS key needs kms:Decrypt
 * on that key ("If you enable checksum mode and the object is uploaded with a checksum and
 * encrypted with a KMS key, you must have permission to use the kms:Decrypt action to retrieve
 * the checksum": https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), and a HEAD's
 * error is its status alone, 403 with no body (same page: "it returns a generic 400 Bad Request,
 * 403 Forbidden or 404 Not Found code"). Everything else is passed through untouched.
 *
 * Which key an object is under is asked of the local S3 itself (a HEAD without the mode, which
 * needs no KMS permission), so the emulator's own record of the key decides, not the test.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The customer managed key the encryption tests put objects under; the IAM contract configures
 * the stack with it, so a grant on it is checked on its ARN.
 */
export const TEST_KMS_KEY_ARN = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";

export class KmsAuthorizer {
  /** Key ids or ARNs the caller may decrypt with; none by default, as the stack grants none. */
  readonly decryptable = new Set<string>();
  /** Checksum-mode HEADs refused. */
  refused = 0;
  endpoint = "";
  private readonly server: Server;

  private constructor(private readonly target: URL) {
    this.server = createServer((incoming, outgoing) => void this.handle(incoming, outgoing));
  }

  static async start(target: string): Promise<KmsAuthorizer> {
    const authorizer = new KmsAuthorizer(new URL(target));
    await new Promise<void>((resolve) => authorizer.server.listen(0, "127.0.0.1", resolve));
    authorizer.endpoint = `http://127.0.0.1:${(authorizer.server.address() as AddressInfo).port}`;
    return authorizer;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    try {
      if (incoming.method === "HEAD" && String(incoming.headers["x-amz-checksum-mode"] ?? "").toUpperCase() === "ENABLED") {
        const { "x-amz-checksum-mode": _mode, ...plain } = incoming.headers;
        const probe = await this.send(incoming.method, incoming.url!, plain, Buffer.alloc(0));
        const keyId = probe.headers["x-amz-server-side-encryption-aws-kms-key-id"];
        if (probe.status === 200 && String(probe.headers["x-amz-server-side-encryption"] ?? "").startsWith("aws:kms") && !this.mayDecrypt(keyId)) {
          this.refused++;
          outgoing.writeHead(403, { "x-amz-request-id": "kms-authorizer" });
          outgoing.end();
          return;
        }
      }
      const response = await this.send(incoming.method!, incoming.url!, incoming.headers, body);
      outgoing.writeHead(response.status, response.headers);
      outgoing.end(response.body);
    } catch {
      outgoing.destroy();
    }
  }

  private mayDecrypt(keyId: string | string[] | undefined): boolean {
    if (typeof keyId !== "string") return false;
    // A grant on a key ARN covers the key however it is named (its id is the ARN's last part).
    return [...this.decryptable].some((granted) => granted === keyId || granted.endsWith(`/${keyId}`) || keyId.endsWith(`/${granted}`));
  }

  private send(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const forwarded = request(
        { hostname: this.target.hostname, port: this.target.port, method, path, headers: { ...headers, host: this.target.host } },
        (response) => {
          const parts: Buffer[] = [];
          response.on("data", (part: Buffer) => parts.push(part));
          response.on("end", () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(parts) }));
          response.on("error", reject);
        },
      );
      forwarded.on("error", reject);
      forwarded.end(body);
    });
  }
}
