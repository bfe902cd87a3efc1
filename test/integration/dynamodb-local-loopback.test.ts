/**
 * DynamoDB Local serves this machine's own clients only (issue 29, Medium 6): the package's
 * launcher listened on every interface and answered any Host, so another host, or a web page
 * through DNS rebinding, could read and write the local tables.
 */
import { request } from "node:http";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../local/dynamodb-local.js";

let dynamodb: DynamoDbLocal;
let port: number;

beforeAll(async () => {
  dynamodb = await startDynamoDbLocal();
  port = Number(new URL(dynamodb.endpoint).port);
});
afterAll(() => dynamodb?.stop());

/** A ListTables call with the given extra headers; the status code. */
function listTables(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "DynamoDB_20120810.ListTables",
          authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
          ...headers,
        },
      },
      (incoming) => {
        let body = "";
        incoming.on("data", (chunk: Buffer) => (body += chunk.toString()));
        incoming.on("end", () => resolve({ status: incoming.statusCode ?? 0, body }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end("{}");
  });
}

it("answers a loopback Host", async () => {
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost"]) expect(await listTables({ host })).toMatchObject({ status: 200 });
});

it("refuses a foreign Host (DNS rebinding) and any Origin (a web page)", async () => {
  const rebound = await listTables({ host: `attacker.example:${port}` });
  expect(rebound.status).toBe(403);
  expect(rebound.body).toMatch(/AccessDeniedException.*loopback Host/);
  const fromPage = await listTables({ host: `127.0.0.1:${port}`, origin: "http://attacker.example" });
  expect(fromPage.status).toBe(403);
  expect(fromPage.body).toMatch(/Origin/);
});

it("does not listen on any other interface", async () => {
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && !address.internal && address.family === "IPv4")
    .map((address) => address!.address);
  if (others.length === 0) return expect(others).toEqual([]); // a machine with loopback only has nothing else to check
  for (const address of others) {
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: address, port }, () => {
        socket.destroy();
        resolve("connected");
      });
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    expect(outcome, `DynamoDB Local on ${address}:${port}`).toBe("ECONNREFUSED");
  }
});
