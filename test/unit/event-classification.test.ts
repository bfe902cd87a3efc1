/**
 * The parser's decisions, each pinned exactly: which action an event name becomes, which fields
 * a record must carry (and the error naming the missing one), when a version id is kept, how
 * EventBridge names map onto notification names, and which envelopes are refused.
 */
import { describe, expect, it } from "vitest";
import { MalformedMessageError } from "../../events/errors.js";
import { decodeS3Key, encodeS3Key, S3KeyEncodingError } from "../../aws/s3-key.js";
import { parseMessageBody, type ObjectEvent } from "../../events/parse.js";
import { METADATA_EVENTS, eventBridgeDetailTypes, isSubscribed, metadataEventsFor, notificationEvents } from "../../events/subscriptions.js";

const TIME = "2026-11-21T10:00:00.000Z";

/** A minimal notification record: only what the schema requires, plus `object` and `extra`. */
function record(eventName: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { eventSource: "aws:s3", eventName, eventTime: TIME, s3: { bucket: { name: "b" }, object: { key: "k", ...object } }, ...extra };
}

function eventBridge(detailType: string, detail: Record<string, unknown> = {}, object: Record<string, unknown> = {}) {
  return {
    source: "aws.s3",
    "detail-type": detailType,
    time: "2026-11-21T10:00:05Z",
    detail: { bucket: { name: "b" }, object: { key: "k", ...object }, ...detail },
  };
}

function eventsOf(json: unknown): ObjectEvent[] {
  const parsed = parseMessageBody(JSON.stringify(json));
  if (parsed.kind !== "events") throw new Error(`expected events, got ${parsed.kind}`);
  return parsed.events;
}

const one = (eventName: string, object: Record<string, unknown>, extra?: Record<string, unknown>) =>
  eventsOf({ Records: [record(eventName, object, extra)] })[0];
const fromBridge = (detailType: string, detail?: Record<string, unknown>, object?: Record<string, unknown>) =>
  eventsOf(eventBridge(detailType, detail, object))[0];

function refusal(body: string): MalformedMessageError {
  try {
    parseMessageBody(body);
  } catch (error) {
    if (error instanceof MalformedMessageError) return error;
    throw new Error(`expected a MalformedMessageError, got ${String(error)}`);
  }
  throw new Error("expected the message to be refused");
}

const base = { bucket: "b", key: "k", eventTime: TIME, eventTimeResolutionMs: 1, origin: {} };

describe("notification records", () => {
  it("a create keeps a real version id, drops S3's \"null\" and strips the ETag's quotes", () => {
    const object = { sequencer: "0A", size: 3, eTag: '"e1"' };
    expect(one("ObjectCreated:Put", { ...object, versionId: "v1" })).toStrictEqual({
      ...base,
      eventName: "ObjectCreated:Put",
      action: "upsert",
      sequencer: "0A",
      size: 3,
      etag: "e1",
      versionId: "v1",
    });
    expect(one("ObjectCreated:Put", { ...object, versionId: "null" })).toStrictEqual({
      ...base,
      eventName: "ObjectCreated:Put",
      action: "upsert",
      sequencer: "0A",
      size: 3,
      etag: "e1",
    });
    expect(one("ObjectCreated:Put", object)).toStrictEqual({ ...base, eventName: "ObjectCreated:Put", action: "upsert", sequencer: "0A", size: 3, etag: "e1" });
  });

  it("a create missing a field is refused, naming the field", () => {
    const body = (object: Record<string, unknown>) => JSON.stringify({ Records: [record("ObjectCreated:Put", object)] });
    expect(refusal(body({ size: 1, eTag: "e" })).message).toBe("ObjectCreated:Put event for b/k has no sequencer");
    expect(refusal(body({ sequencer: "0A", eTag: "e" })).message).toBe("ObjectCreated:Put event for b/k has no size");
    expect(refusal(body({ sequencer: "0A", size: 1 })).message).toBe("ObjectCreated:Put event for b/k has no eTag");
  });

  it("deletes: a marker keeps its version id when it has one; a delete needs a sequencer", () => {
    expect(one("ObjectRemoved:DeleteMarkerCreated", { sequencer: "0B" })).toStrictEqual({
      ...base,
      eventName: "ObjectRemoved:DeleteMarkerCreated",
      action: "delete",
      sequencer: "0B",
    });
    expect(one("ObjectRemoved:DeleteMarkerCreated", { sequencer: "0B", versionId: "m1" })).toStrictEqual({
      ...base,
      eventName: "ObjectRemoved:DeleteMarkerCreated",
      action: "delete",
      sequencer: "0B",
      versionId: "m1",
    });
    expect(one("ObjectRemoved:Delete", { sequencer: "0C" })).toStrictEqual({ ...base, eventName: "ObjectRemoved:Delete", action: "delete", sequencer: "0C" });
    expect(one("LifecycleExpiration:Delete", { sequencer: "0C", versionId: "null" })).toStrictEqual({
      ...base,
      eventName: "LifecycleExpiration:Delete",
      action: "version-deleted",
      sequencer: "0C",
      versionId: "null",
    });
    expect(refusal(JSON.stringify({ Records: [record("ObjectRemoved:Delete", {})] })).message).toBe("ObjectRemoved:Delete event for b/k has no sequencer");
    expect(refusal(JSON.stringify({ Records: [record("ObjectRemoved:DeleteMarkerCreated", {})] })).message).toBe(
      "ObjectRemoved:DeleteMarkerCreated event for b/k has no sequencer",
    );
  });

  it("a removal of an unknown kind, or another category's Delete, changes nothing", () => {
    expect(one("ObjectRemoved:Archived", { sequencer: "0D" })).toStrictEqual({ ...base, eventName: "ObjectRemoved:Archived", action: "ignore" });
    expect(one("ObjectAcl:Delete", { sequencer: "0D" })).toStrictEqual({ ...base, eventName: "ObjectAcl:Delete", action: "ignore" });
    expect(one("ObjectAcl:DeleteMarkerCreated", { sequencer: "0D" })).toStrictEqual({ ...base, eventName: "ObjectAcl:DeleteMarkerCreated", action: "ignore" });
  });

  it('a metadata event keeps the version it names, "null" included, and none when it names none', () => {
    expect(one("ObjectTagging:Put", { versionId: "null" })).toStrictEqual({
      ...base,
      eventName: "ObjectTagging:Put",
      action: "describe",
      field: "tags",
      versionId: "null",
    });
    expect(one("LifecycleTransition", {})).toStrictEqual({ ...base, eventName: "LifecycleTransition", action: "describe", field: "storageClass" });
  });

  it("strips only a leading s3: from the event name", () => {
    expect(one("s3:ObjectCreated:Copy", { sequencer: "0E", size: 0, eTag: "e" })?.eventName).toBe("ObjectCreated:Copy");
    expect(one("Xs3:Y", {})?.eventName).toBe("Xs3:Y");
  });

  it("reads the origin a record states, and an empty one from a record without any", () => {
    const origin = {
      userIdentity: { principalId: "AWS:P" },
      requestParameters: { sourceIPAddress: "10.0.0.1" },
      responseElements: { "x-amz-request-id": "R1" },
    };
    expect(one("ObjectRemoved:Delete", { sequencer: "0F" }, origin)?.origin).toStrictEqual({ requester: "AWS:P", sourceIp: "10.0.0.1", requestId: "R1" });
    expect(one("ObjectRemoved:Delete", { sequencer: "0F" }, { userIdentity: {} })?.origin).toStrictEqual({});
    expect(one("ObjectRemoved:Delete", { sequencer: "0F" })?.origin).toStrictEqual({});
  });

  it("refuses a record with an unparseable time, saying so", () => {
    const body = JSON.stringify({ Records: [{ ...record("ObjectRemoved:Delete", { sequencer: "01" }), eventTime: "yesterday" }] });
    expect(refusal(body).message).toBe("invalid S3 event record 0: eventTime: not an ISO-8601 time");
  });
});

describe("EventBridge events", () => {
  const created = (reason?: string) => fromBridge("Object Created", reason === undefined ? {} : { reason }, { sequencer: "0a", size: 1, etag: "e" })?.eventName;

  it("names creates after their reason, Put when it gives none", () => {
    expect(created()).toBe("ObjectCreated:Put");
    expect(created("PutObject")).toBe("ObjectCreated:Put");
    expect(created("POST Object")).toBe("ObjectCreated:Post");
    expect(created("CopyObject")).toBe("ObjectCreated:Copy");
    expect(created("CompleteMultipartUpload")).toBe("ObjectCreated:CompleteMultipartUpload");
    expect(created("SomethingNew")).toBe("ObjectCreated:SomethingNew");
  });

  it("states its time to the second and maps deletion types", () => {
    expect(fromBridge("Object Deleted", { reason: "DeleteObject", "deletion-type": "Delete Marker Created" }, { sequencer: "0b" })).toStrictEqual({
      ...base,
      eventTime: "2026-11-21T10:00:05.000Z",
      eventTimeResolutionMs: 1000,
      eventName: "ObjectRemoved:DeleteMarkerCreated",
      action: "delete",
      sequencer: "0b",
    });
    expect(
      fromBridge("Object Deleted", { reason: "Lifecycle Expiration", "deletion-type": "Permanently Deleted" }, { sequencer: "0b", "version-id": "v" })
        ?.eventName,
    ).toBe("LifecycleExpiration:Delete");
  });

  it("maps every metadata detail-type onto its notification name and field", () => {
    for (const metadata of METADATA_EVENTS) {
      expect(fromBridge(metadata.detailType)).toMatchObject({ eventName: metadata.eventName, action: "describe", field: metadata.field });
    }
    expect(fromBridge("Object ACL Updated")).toMatchObject({ eventName: "EventBridge:Object ACL Updated", action: "ignore" });
    expect(METADATA_EVENTS.map((metadata) => [metadata.detailType, metadata.eventName])).toEqual([
      ["Object Tags Added", "ObjectTagging:Put"],
      ["Object Tags Deleted", "ObjectTagging:Delete"],
      ["Object Storage Class Changed", "LifecycleTransition"],
      ["Object Access Tier Changed", "IntelligentTiering"],
      ["Object Restore Initiated", "ObjectRestore:Post"],
      ["Object Restore Completed", "ObjectRestore:Completed"],
      ["Object Restore Expired", "ObjectRestore:Delete"],
    ]);
  });

  it("keeps the requester, source IP and request id it states", () => {
    expect(fromBridge("Object Tags Deleted", { requester: "123456789012", "source-ip-address": "10.0.0.2", "request-id": "R2" })?.origin).toStrictEqual({
      requester: "123456789012",
      sourceIp: "10.0.0.2",
      requestId: "R2",
    });
  });

  it("refuses an EventBridge event that is not S3's, saying what it expected", () => {
    expect(refusal(JSON.stringify({ ...eventBridge("Object Created"), source: "aws.ec2" })).message).toBe(
      'invalid EventBridge S3 event: source: Invalid input: expected "aws.s3"',
    );
  });
});

describe("envelopes", () => {
  const NOT_AN_EVENT = "message is not an S3 event notification, S3 TestEvent or EventBridge S3 event";

  it("refuses JSON that is not an object, keeping no TypeError", () => {
    for (const body of ["null", "42", '"text"', "true"]) {
      const error = refusal(body);
      expect(error.message).toBe(NOT_AN_EVENT);
    }
  });

  it("refuses a body that is not JSON, keeping the parser's error as its cause", () => {
    const error = refusal("{not json");
    expect(error.message).toBe("message body is not JSON");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("unwraps one SNS envelope, not two", () => {
    const inner = JSON.stringify({ Records: [record("ObjectRemoved:Delete", { sequencer: "01" })] });
    const sns = (message: string) => JSON.stringify({ Type: "Notification", Message: message });
    expect(eventsOf(JSON.parse(sns(inner))).map((event) => event.action)).toEqual(["delete"]);
    expect(refusal(sns(sns(inner))).message).toBe(NOT_AN_EVENT);
  });

  it("names itself, so logs and the handler can tell it from other errors", () => {
    expect(refusal("[]").name).toBe("MalformedMessageError");
  });
});

describe("object keys", () => {
  it("decodes form encoding and refuses a broken escape, keeping the URIError", () => {
    expect(decodeS3Key("a+b%2Bc%2F")).toBe("a b+c/");
    let error: unknown;
    try {
      decodeS3Key("100%");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(S3KeyEncodingError);
    expect((error as Error).message).toBe('object key "100%" is not valid URL encoding');
    expect((error as Error).cause).toBeInstanceOf(URIError);
  });

  it("a message carrying a broken key is malformed, keeping the codec's reason", () => {
    const error = refusal(JSON.stringify({ Records: [record("ObjectCreated:Put", { key: "100%", sequencer: "0A", size: 1, eTag: "e" })] }));
    expect(error.message).toBe('object key "100%" is not valid URL encoding');
    expect(error.cause).toBeInstanceOf(S3KeyEncodingError);
  });

  it("encodes as S3 does: spaces as +, slashes readable, any case of %2f", () => {
    expect(encodeS3Key("a b/c+d")).toBe("a+b/c%2Bd");
  });
});

describe("subscriptions", () => {
  it("matches a wildcard by prefix and an exact type exactly", () => {
    expect(isSubscribed(["s3:ObjectCreated:*"], "ObjectCreated:Put")).toBe(true);
    expect(isSubscribed(["s3:ObjectCreated:*"], "ObjectCreatedX")).toBe(false);
    expect(isSubscribed(["s3:ObjectCreated:Put"], "ObjectCreated:Put")).toBe(true);
    expect(isSubscribed(["s3:ObjectCreated:Put"], "ObjectCreated:Pu")).toBe(false);
    expect(isSubscribed(["ObjectRemoved:*"], "ObjectRemoved:Delete")).toBe(true);
    expect(isSubscribed(["xs3:Put"], "xPut")).toBe(false);
    expect(isSubscribed([], "ObjectCreated:Put")).toBe(false);
  });

  it("subscribes to content events always and to metadata events by field", () => {
    expect(notificationEvents([])).toEqual(["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]);
    expect(notificationEvents(["tags", "contentType"])).toEqual([
      "s3:ObjectCreated:*",
      "s3:ObjectRemoved:*",
      "s3:LifecycleExpiration:*",
      "s3:ObjectTagging:Put",
      "s3:ObjectTagging:Delete",
    ]);
    expect(eventBridgeDetailTypes(["tags"])).toEqual(["Object Created", "Object Deleted", "Object Tags Added", "Object Tags Deleted"]);
    expect(metadataEventsFor(["storageClass"]).map((event) => event.eventName)).toEqual([
      "LifecycleTransition",
      "IntelligentTiering",
      "ObjectRestore:Post",
      "ObjectRestore:Completed",
      "ObjectRestore:Delete",
    ]);
  });
});
