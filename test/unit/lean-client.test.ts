import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { createDocumentClient } from "../../ledger/index.js";
import { createLocalClients } from "../../local/clients.js";
import { withoutSdkLogger } from "../../aws/lean-client.js";

const loggerMiddlewares = (client: { middlewareStack: { identify(): string[] } }) =>
  client.middlewareStack.identify().filter((entry) => entry.startsWith("loggerMiddleware"));

describe("SDK clients without the logger middleware", () => {
  it("removes the middleware by the name the SDK gives it (an SDK rename fails here, not silently in production)", () => {
    const client = new S3Client({ region: "us-east-1" });
    expect(loggerMiddlewares(client)).toHaveLength(1);
    expect(loggerMiddlewares(withoutSdkLogger(client))).toEqual([]);
    // Everything else the client does stays.
    expect(client.middlewareStack.identify().length).toBeGreaterThan(5);
  });

  it("applies to the document client's default and to every local client", () => {
    expect(loggerMiddlewares(createDocumentClient())).toEqual([]);
    const clients = createLocalClients({ s3: "http://127.0.0.1:1", sqs: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:1" });
    for (const client of Object.values(clients)) expect(loggerMiddlewares(client)).toEqual([]);
  });

  it("leaves a client the caller built and passed in as it is", () => {
    const own = new DynamoDBClient({ region: "us-east-1" });
    createDocumentClient(own);
    expect(loggerMiddlewares(own)).toHaveLength(1);
  });
});
