/** Ingestion's error lines keep an allowlist of an error's fields: nothing a row holds reaches the logs (issue 29, Medium 5). */
import type { Logger } from "@aws-lambda-powertools/logger";
import { expect, it } from "vitest";
import { createIngestHandler } from "../../ingest/handler.js";
import type { Ingester } from "../../ingest/ingester.js";
import { fifoRecord } from "../support/events.js";

it("a message that fails logs the error's kind and frames, never its message", async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (_: string, fields: Record<string, unknown>) => void lines.push(fields),
  };
  const failure = Object.assign(new Error('Invalid Opening Quote: a quote is found on field 2 at line 7, value is "SSN=123-45-6789"'), {
    code: "INVALID_OPENING_QUOTE",
  });
  const ingester = { run: async () => Promise.reject(failure) } as unknown as Ingester;
  const handler = createIngestHandler({ ingester, queue: { send: async () => undefined }, logger: logger as unknown as Logger, stopMarginMs: 0 });
  const body = JSON.stringify({ kind: "ingest", bucket: "imports", key: "people.csv", version: "v1", cause: "event" });
  const response = await handler({ Records: [fifoRecord(body, "imports")] });
  expect(response.batchItemFailures).toHaveLength(1);
  expect(lines).toHaveLength(1);
  expect(JSON.stringify(lines[0])).not.toContain("SSN");
  expect(lines[0]).toMatchObject({
    errorName: "Error",
    errorCode: "INVALID_OPENING_QUOTE",
    errorFrames: expect.arrayContaining([expect.stringMatching(/^at /)]),
  });
});
