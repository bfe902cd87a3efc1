import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MalformedMessageError } from "../../events/errors.js";
import { parseMessageBody, type ObjectEvent } from "../../events/parse.js";
import { s3EventRecord } from "../support/events.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/aws/${name}`, import.meta.url), "utf8");
const eventsOf = (body: string): ObjectEvent[] => {
  const parsed = parseMessageBody(body);
  if (parsed.kind !== "events") throw new Error(`expected events, got ${parsed.kind}`);
  return parsed.events;
};
const notification = (...records: unknown[]) => JSON.stringify({ Records: records });

describe("S3 -> SQS notifications", () => {
  it("parses AWS's documented ObjectCreated:Put example", () => {
    expect(eventsOf(fixture("s3-put-notification.json"))).toEqual([
      {
        action: "upsert",
        bucket: "amzn-s3-demo-bucket",
        key: "HappyFace.jpg",
        eventName: "ObjectCreated:Put",
        eventTime: "1970-01-01T00:00:00.000Z",
        eventTimeResolutionMs: 1,
        origin: { requester: "AIDAJDPLRKLG7UEXAMPLE", sourceIp: "172.16.0.1", requestId: "C3D13FE58DE4C810" },
        sequencer: "0055AED6DCD90281E5",
        size: 1024,
        etag: "d41d8cd98f00b204e9800998ecf8427e",
        versionId: "096fKKXTRTtl3on89fVO.nfljtsv6qko",
      },
    ]);
  });

  it("acknowledges s3:TestEvent without events", () => {
    expect(parseMessageBody(fixture("s3-test-event.json"))).toEqual({ kind: "test" });
  });

  it("reads every record of a message and decodes keys", () => {
    const events = eventsOf(
      notification(
        s3EventRecord({ key: "a b+c.txt", eventName: "ObjectCreated:CompleteMultipartUpload", sequencer: "01", size: 7, eTag: "abc-2" }),
        s3EventRecord({ key: "gone/😀.txt", eventName: "ObjectRemoved:Delete", sequencer: "02" }),
      ),
    );
    expect(events.map((event) => [event.action, event.key])).toEqual([
      ["upsert", "a b+c.txt"],
      ["delete", "gone/😀.txt"],
    ]);
  });

  it("classifies deletions: markers, permanent version deletes, lifecycle expirations", () => {
    const classify = (eventName: string, versionId?: string) =>
      eventsOf(notification(s3EventRecord({ key: "k", eventName, sequencer: "0A", ...(versionId !== undefined && { versionId }) })))[0]!.action;
    expect(classify("ObjectRemoved:Delete")).toBe("delete");
    // Version "null" (written while versioning was suspended) may hide an older version.
    expect(classify("ObjectRemoved:Delete", "null")).toBe("version-deleted");
    expect(classify("ObjectRemoved:Delete", "3HL4kqtJlcpXroDTDmJ")).toBe("version-deleted");
    expect(classify("ObjectRemoved:DeleteMarkerCreated", "marker-1")).toBe("delete");
    expect(classify("LifecycleExpiration:Delete")).toBe("delete");
    expect(classify("LifecycleExpiration:DeleteMarkerCreated", "marker-2")).toBe("delete");
  });

  it("ignores events that do not change the indexed state", () => {
    for (const eventName of ["ObjectAcl:Put", "Replication:OperationFailedReplication", "ObjectRestore:Unknown"]) {
      expect(eventsOf(notification(s3EventRecord({ key: "k", eventName, sequencer: "0A" })))[0]!.action).toBe("ignore");
    }
  });

  it("takes tagging, transitions and restores as metadata events, with or without a sequencer (S3 gives them none)", () => {
    const expected: [string, string][] = [
      ["ObjectTagging:Put", "tags"],
      ["ObjectTagging:Delete", "tags"],
      ["LifecycleTransition", "storageClass"],
      ["IntelligentTiering", "storageClass"],
      ["ObjectRestore:Post", "storageClass"],
      ["ObjectRestore:Completed", "storageClass"],
      ["ObjectRestore:Delete", "storageClass"],
    ];
    for (const [eventName, field] of expected) {
      const record = s3EventRecord({ key: "k", eventName, sequencer: "0A" });
      delete (record.s3 as { object: { sequencer?: string } }).object.sequencer;
      expect(eventsOf(notification(record))[0], eventName).toMatchObject({ action: "describe", field, eventName });
    }
  });

  it("unwraps S3 -> SNS -> SQS deliveries", () => {
    const body = JSON.stringify({ Type: "Notification", MessageId: "m", TopicArn: "arn:aws:sns:us-east-1:1:t", Message: fixture("s3-put-notification.json") });
    expect(eventsOf(body)[0]!.key).toBe("HappyFace.jpg");
  });
});

describe("EventBridge -> SQS events", () => {
  it("parses AWS's documented Object Created example", () => {
    expect(eventsOf(fixture("eventbridge-object-created.json"))).toEqual([
      {
        action: "upsert",
        bucket: "amzn-s3-demo-bucket1",
        key: "example-key",
        eventName: "ObjectCreated:Put",
        eventTime: "2021-11-12T00:00:00.000Z",
        eventTimeResolutionMs: 1000,
        origin: { requester: "123456789012", sourceIp: "1.2.3.4", requestId: "N4N7GDK58NMKJ12R" },
        sequencer: "617f08299329d189",
        size: 5,
        etag: "b1946ac92492d2347c6235b4d2611184",
        versionId: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
      },
    ]);
  });

  it("parses AWS's documented Object Deleted (delete marker) example", () => {
    expect(eventsOf(fixture("eventbridge-object-deleted.json"))).toEqual([
      {
        action: "delete",
        bucket: "amzn-s3-demo-bucket1",
        key: "example-key",
        eventName: "ObjectRemoved:DeleteMarkerCreated",
        eventTime: "2021-11-12T00:00:00.000Z",
        eventTimeResolutionMs: 1000,
        origin: { requester: "123456789012", sourceIp: "1.2.3.4", requestId: "0BH729840619AG5K" },
        sequencer: "617f0837b476e463",
        versionId: "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
      },
    ]);
  });

  it("decodes keys form-style, as notification keys are (AWS Powertools decodes them with unquote_plus)", () => {
    const created = JSON.parse(fixture("eventbridge-object-created.json"));
    created.detail.object.key = "reports/q1+summary%2B%25.pdf";
    expect(eventsOf(JSON.stringify(created))[0]!.key).toBe("reports/q1 summary+%.pdf");
  });

  it("maps lifecycle expirations and other detail types", () => {
    const deleted = JSON.parse(fixture("eventbridge-object-deleted.json"));
    deleted.detail.reason = "Lifecycle Expiration";
    deleted.detail["deletion-type"] = "Permanently Deleted";
    delete deleted.detail.object["version-id"];
    expect(eventsOf(JSON.stringify(deleted))[0]).toMatchObject({ action: "delete", eventName: "LifecycleExpiration:Delete" });
    const restore = JSON.parse(fixture("eventbridge-object-created.json"));
    restore["detail-type"] = "Object Restore Expired";
    expect(eventsOf(JSON.stringify(restore))[0]).toMatchObject({ action: "describe", field: "storageClass", eventName: "ObjectRestore:Delete" });
    const acl = JSON.parse(fixture("eventbridge-object-created.json"));
    acl["detail-type"] = "Object ACL Updated";
    expect(eventsOf(JSON.stringify(acl))[0]!.action).toBe("ignore");
  });
});

describe("malformed messages", () => {
  it.each([
    ["not JSON", "{oops", /not JSON/],
    ["unknown envelope", JSON.stringify({ hello: "world" }), /not an S3 event/],
    [
      "record without bucket",
      notification({ eventSource: "aws:s3", eventName: "ObjectCreated:Put", eventTime: "2026-01-01T00:00:00Z", s3: { object: { key: "k" } } }),
      /S3 event record 0: s3.bucket/,
    ],
    [
      "create without sequencer",
      notification({
        ...s3EventRecord({ key: "k", eventName: "ObjectCreated:Put", sequencer: "1", size: 1, eTag: "e" }),
        s3: { bucket: { name: "b" }, object: { key: "k", size: 1, eTag: "e" } },
      }),
      /has no sequencer/,
    ],
    [
      "bad event time",
      notification({ ...s3EventRecord({ key: "k", eventName: "ObjectRemoved:Delete", sequencer: "1" }), eventTime: "yesterday" }),
      /eventTime/,
    ],
  ])("rejects %s with a typed error naming the problem", (_name, body, message) => {
    expect(() => parseMessageBody(body)).toThrow(MalformedMessageError);
    expect(() => parseMessageBody(body)).toThrow(message);
  });
});

describe("every message body AWS documents for the events the tracker handles or ignores", () => {
  interface Case {
    file: string;
    source: string;
    expect: { action: ObjectEvent["action"] | "test"; eventName?: string; key?: string; size?: number };
  }
  const { cases } = JSON.parse(fixture("events/index.json")) as { cases: Case[] };

  it("covers each event kind the design notes list", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    for (const kind of ["upsert", "delete", "version-deleted", "describe", "ignore", "test"])
      expect(
        cases.some((c) => c.expect.action === kind),
        kind,
      ).toBe(true);
    for (const entry of cases) expect(entry.source, entry.file).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  it.each(cases.map((entry) => [entry.file, entry] as const))("%s", (_file, entry) => {
    const parsed = parseMessageBody(fixture(`events/${entry.file}`));
    if (entry.expect.action === "test") {
      expect(parsed).toEqual({ kind: "test" });
      return;
    }
    expect(parsed.kind).toBe("events");
    const [event] = (parsed as { events: ObjectEvent[] }).events;
    expect(event).toMatchObject({
      action: entry.expect.action,
      eventName: entry.expect.eventName,
      key: entry.expect.key,
      ...(entry.expect.size !== undefined && { size: entry.expect.size }),
    });
  });
});
