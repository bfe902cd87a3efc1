/**
 * The one HeadObject -> object state mapping (aws/head-object.ts), and that both of its callers,
 * the lookup and the describer, give the version S3 names "null" as no version id, as a create
 * event for the same object does (events/parse.ts).
 */
import type { HeadObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { headObjectState, versionIdOf } from "../../aws/head-object.js";
import { parseMessageBody } from "../../events/parse.js";
import { s3ObjectDescriber } from "../../s3/object-details.js";
import { s3ObjectLookup } from "../../s3/object-lookup.js";

const lastModified = new Date("2026-11-20T10:00:00.000Z");
const head = (VersionId?: string): HeadObjectCommandOutput =>
  ({ ContentLength: 7, ETag: '"abc123"', LastModified: lastModified, ...(VersionId !== undefined && { VersionId }), $metadata: {} }) as HeadObjectCommandOutput;

/** An S3 client that answers every HEAD with `answer`. */
const answering = (answer: HeadObjectCommandOutput) => ({ send: async () => answer }) as unknown as S3Client;

describe("headObjectState", () => {
  it("reads size, the ETag without quotes, Last-Modified and a real version id", () => {
    expect(headObjectState(head("3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"))).toStrictEqual({
      size: 7,
      etag: "abc123",
      lastModified: "2026-11-20T10:00:00.000Z",
      versionId: "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
    });
  });

  it('keeps no version id for S3\'s "null" (unversioned or suspended bucket), nor for none', () => {
    expect(headObjectState(head("null"))).toStrictEqual({ size: 7, etag: "abc123", lastModified: "2026-11-20T10:00:00.000Z" });
    expect(headObjectState(head())).toStrictEqual({ size: 7, etag: "abc123", lastModified: "2026-11-20T10:00:00.000Z" });
    expect(versionIdOf("null")).toBeUndefined();
    expect(versionIdOf(undefined)).toBeUndefined();
    expect(versionIdOf("v1")).toBe("v1");
  });
});

describe('version "null" as the lookup, the describer and a create event give it', () => {
  it("is no version id in all three", async () => {
    const looked = await s3ObjectLookup(answering(head("null"))).head("bucket", "key.txt");
    expect(looked).toStrictEqual({ size: 7, etag: "abc123", lastModified: "2026-11-20T10:00:00.000Z" });

    const described = await s3ObjectDescriber(answering(head("null")), []).describe("bucket", "key.txt");
    expect(described?.state).toMatchObject({ size: 7, etag: "abc123" });
    expect(described?.state).not.toHaveProperty("versionId");

    const parsed = parseMessageBody(
      JSON.stringify({
        Records: [
          {
            eventSource: "aws:s3",
            eventTime: "2026-11-20T10:00:00.000Z",
            eventName: "ObjectCreated:Put",
            s3: { bucket: { name: "bucket" }, object: { key: "key.txt", size: 7, eTag: "abc123", versionId: "null", sequencer: "0A" } },
          },
        ],
      }),
    );
    expect(parsed.kind).toBe("events");
    const event = parsed.kind === "events" ? parsed.events[0] : undefined;
    expect(event).toMatchObject({ action: "upsert", etag: "abc123" });
    expect(event).not.toHaveProperty("versionId");
  });
});
