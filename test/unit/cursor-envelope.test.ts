/** The API's signed cursors and the ledger's cursor validation: pure decisions, no table. */
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { openCursor, sealCursor } from "../../api/cursor-envelope.js";
import { createApiHandler, responseBytes } from "../../api/handler.js";
import { assertChangesCursorWithin, changesCursorAfter, encodeCursor, listCursorAfter, resumeAfter } from "../../ledger/cursor.js";
import { InvalidCursorError, type Ledger } from "../../ledger/index.js";
import { toHttpApiEvent } from "../../local/api-server.js";

const KEY = Buffer.alloc(32, 1);
const OTHER_KEY = Buffer.alloc(32, 2);

describe("signed cursors", () => {
  it("open what they sealed, unchanged", () => {
    const inner = listCursorAfter("photos", "2026/", "2026/😀 b");
    expect(openCursor(KEY, sealCursor(KEY, inner))).toBe(inner);
  });

  it("refuse an unsigned cursor, a changed payload or tag, another key's signature and another version", () => {
    const sealed = sealCursor(KEY, listCursorAfter("photos", "", "a"));
    const [version, inner, tag] = sealed.split(".") as [string, string, string];
    const flipped = (text: string) => `${text.slice(0, -1)}${text.endsWith("A") ? "B" : "A"}`;
    for (const forged of [
      inner,
      `${version}.${listCursorAfter("photos", "", "b")}.${tag}`,
      `${version}.${inner}.${flipped(tag)}`,
      `${version}.${inner}.${tag.slice(0, 20)}`,
      sealCursor(OTHER_KEY, inner),
      `v2.${inner}.${tag}`,
      `${sealed}.x`,
      "",
    ]) {
      expect(() => openCursor(KEY, forged), forged).toThrow(InvalidCursorError);
    }
  });
});

describe("the ledger's cursors", () => {
  it("refuse a change position that is not a token, a time or a day", () => {
    for (const after of ["garbage", "0001-13-45", "2026-12-04T10:00:00Z#zz", ""]) {
      const cursor = encodeCursor({ v: 1, q: "changes", b: "photos", after } as never);
      expect(() => resumeAfter({ bucket: "photos", cursor }, "changes"), after).toThrow(InvalidCursorError);
    }
    for (const after of ["2026-12-04", "2026-12-04T10:00:00.000Z", "2026-12-04T10:00:00.000Z#0123456789abcdef"]) {
      expect(resumeAfter({ bucket: "photos", cursor: changesCursorAfter("photos", after) }, "changes")).toBe(after);
    }
  });

  it("refuse a listing position outside its prefix or longer than a key, which DynamoDB would refuse", () => {
    expect(() => resumeAfter({ bucket: "photos", cursor: listCursorAfter("photos", "a/", "b/1") }, "list", "a/")).toThrow(InvalidCursorError);
    expect(() => resumeAfter({ bucket: "photos", cursor: listCursorAfter("photos", "", "k".repeat(1025)) }, "list")).toThrow(InvalidCursorError);
    expect(() => resumeAfter({ bucket: "photos", cursor: listCursorAfter("photos", "", "") }, "list")).toThrow(InvalidCursorError);
    expect(resumeAfter({ bucket: "photos", cursor: listCursorAfter("photos", "a/", "a/1") }, "list", "a/")).toBe("a/1");
  });

  it("refuse a change cursor older than the horizon as expired, and keep one within it", () => {
    const horizon = new Date("2026-11-04T12:00:00.000Z");
    for (const after of ["2000-01-01T00:00:00.000Z", "0001-01-01", "2026-11-04T11:59:59.999Z#0123456789abcdef", "2026-11-04"]) {
      expect(() => assertChangesCursorWithin({ bucket: "photos", cursor: changesCursorAfter("photos", after) }, horizon), after).toThrow(/cursor expired/);
    }
    for (const after of ["2026-11-04T12:00:00.000Z", "2026-11-05", "2026-12-01T00:00:00.000Z#0123456789abcdef"]) {
      expect(() => assertChangesCursorWithin({ bucket: "photos", cursor: changesCursorAfter("photos", after) }, horizon)).not.toThrow();
    }
  });
});

describe("the API's answers to what DynamoDB refuses", () => {
  const request = (path: string): APIGatewayProxyEventV2 => toHttpApiEvent("GET", new URL(`http://127.0.0.1${path}`), {});

  it("maps DynamoDB's ValidationException to a 400 with its reason, not a 500", async () => {
    const refused = Object.assign(new Error("The provided starting key is invalid"), { name: "ValidationException" });
    const errors: unknown[] = [];
    const ledger = { listPage: () => Promise.reject(refused), cursorKey: () => Promise.resolve(KEY) } as unknown as Ledger;
    const handler = createApiHandler({ ledger, buckets: ["photos"], onError: (error) => errors.push(error) });
    const response = await handler(request("/buckets/photos/objects"));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body!)).toEqual({ error: "BadRequest", message: expect.stringContaining("The provided starting key is invalid") });
    expect(errors).toEqual([]);
  });

  it("measures an item as Lambda carries it: JSON inside a JSON string", () => {
    // A control character is 6 bytes in the body (\u0001) and 7 once the body is a string.
    expect(responseBytes({ key: "\u0001" })).toBe(JSON.stringify(JSON.stringify({ key: "\u0001" })).length);
    expect(responseBytes({ key: "\u0001" })).toBeGreaterThan(JSON.stringify({ key: "\u0001" }).length + 4);
  });
});
