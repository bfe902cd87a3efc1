/**
 * The tracker's decision from a parsed event to what it writes (tracker/apply-event.ts), without
 * DynamoDB: the batch, the ledger's writer and reads, S3's HEAD and the describer are in-test
 * fakes that record what they were asked. Each case pins the mutation or update exactly.
 */
import { describe, expect, it } from "vitest";
import type { ObjectEvent } from "../../events/parse.js";
import type { Ledger, LedgerRecord, ObjectMutation, ObjectState, WriteBatch } from "../../ledger/index.js";
import { detailAttributesOf, type DescribedObject, type ObjectDescriber, type UndescribedObject } from "../../s3/object-details.js";
import { applyEvent, detailsFor } from "../../tracker/apply-event.js";

const TIME = "2026-11-21T10:00:00.000Z";
const origin = { requester: "P", requestId: "R" };
const common = { bucket: "b", key: "k", eventTime: TIME, eventTimeResolutionMs: 1, origin };
const created = (extra: Partial<Extract<ObjectEvent, { action: "upsert" }>> = {}): ObjectEvent => ({
  ...common,
  eventName: "ObjectCreated:Put",
  action: "upsert",
  sequencer: "0A",
  size: 3,
  etag: "e1",
  ...extra,
});
const mutationBase = { bucket: "b", key: "k", sequencer: "0A", eventTime: TIME, origin };

function fakes(options: { current?: ObjectState; held?: LedgerRecord; descriptionOutcome?: unknown } = {}) {
  const applied: ObjectMutation[] = [];
  const heads: string[] = [];
  const writes: { call: string; input: unknown }[] = [];
  const batch = {
    apply: async (mutation: ObjectMutation) => (applied.push(mutation), { outcome: "applied" as const, journaled: Promise.resolve() }),
  } as unknown as WriteBatch;
  const lookup = { head: async (_bucket: string, key: string) => (heads.push(key), options.current) };
  const ledger = {
    get: async () => options.held,
    writer: {
      describe: async (input: unknown) => (
        writes.push({ call: "describe", input }),
        options.descriptionOutcome ?? { outcome: "applied", journaled: Promise.resolve() }
      ),
      repair: async (input: unknown) => (writes.push({ call: "repair", input }), { outcome: "repaired", journaled: Promise.resolve() }),
    },
  } as unknown as Ledger;
  return { applied, heads, writes, batch, lookup, ledger };
}

describe("event to mutation", () => {
  it("a create is an upsert of the event's state and details, stated to the event's resolution", async () => {
    const { applied, batch, lookup, ledger } = fakes();
    const result = await applyEvent(ledger, lookup, created(), batch, { contentType: "text/plain" });
    const expected = {
      ...mutationBase,
      eventName: "ObjectCreated:Put",
      kind: "upsert",
      state: { size: 3, etag: "e1", lastModified: TIME, contentType: "text/plain" },
      eventTimeResolutionMs: 1,
    };
    expect(applied).toStrictEqual([expected]);
    expect(result.outcome).toBe("applied");
    expect(result.mutation).toStrictEqual(expected);
    await expect(result.journaled).resolves.toBeUndefined();
    await applyEvent(ledger, lookup, created({ versionId: "v1", eventTimeResolutionMs: 1000 }), batch);
    expect(applied[1]).toStrictEqual({
      ...mutationBase,
      eventName: "ObjectCreated:Put",
      kind: "upsert",
      state: { size: 3, etag: "e1", lastModified: TIME, versionId: "v1" },
      eventTimeResolutionMs: 1000,
    });
  });

  it("a delete is a delete, with the marker's version id when it has one", async () => {
    const { applied, batch, lookup, ledger } = fakes();
    await applyEvent(ledger, lookup, { ...common, eventName: "ObjectRemoved:DeleteMarkerCreated", action: "delete", sequencer: "0A", versionId: "m1" }, batch);
    await applyEvent(ledger, lookup, { ...common, eventName: "ObjectRemoved:Delete", action: "delete", sequencer: "0A" }, batch);
    expect(applied).toStrictEqual([
      { ...mutationBase, eventName: "ObjectRemoved:DeleteMarkerCreated", kind: "delete", versionId: "m1" },
      { ...mutationBase, eventName: "ObjectRemoved:Delete", kind: "delete" },
    ]);
  });

  it("a deleted version asks S3 what is current: its state under the event's sequencer, or a delete", async () => {
    const current: ObjectState = { size: 9, etag: "older", lastModified: "2026-11-01T00:00:00.000Z", versionId: "v0" };
    const event: ObjectEvent = { ...common, eventName: "ObjectRemoved:Delete", action: "version-deleted", sequencer: "0A", versionId: "v1" };
    const found = fakes({ current });
    const before = new Date().toISOString();
    await applyEvent(found.ledger, found.lookup, event, found.batch);
    const after = new Date().toISOString();
    expect(found.heads).toEqual(["k"]);
    // Read, not told by the event: when, so time travel vouches for the state from then on.
    const readAt = (found.applied[0] as { readAt: string }).readAt;
    expect(readAt >= before && readAt <= after).toBe(true);
    expect(found.applied).toStrictEqual([
      { ...mutationBase, eventName: "ObjectRemoved:Delete", readAt, kind: "upsert", state: current, eventTimeResolutionMs: 1 },
    ]);
    const gone = fakes();
    await applyEvent(gone.ledger, gone.lookup, event, gone.batch);
    const goneReadAt = (gone.applied[0] as { readAt: string }).readAt;
    expect(goneReadAt >= before).toBe(true);
    expect(gone.applied).toStrictEqual([{ ...mutationBase, eventName: "ObjectRemoved:Delete", readAt: goneReadAt, kind: "delete" }]);
  });

  it("an ignored event writes nothing", async () => {
    const { applied, heads, batch, lookup, ledger } = fakes();
    const result = await applyEvent(ledger, lookup, { ...common, eventName: "ObjectAcl:Put", action: "ignore" }, batch);
    expect(result).toStrictEqual({ outcome: "ignored", journaled: expect.any(Promise) });
    expect(applied).toEqual([]);
    expect(heads).toEqual([]);
  });
});

describe("details for a create", () => {
  const describedAs = (etag: string): DescribedObject => ({
    state: { size: 3, etag, lastModified: TIME, contentType: "text/plain", describedAt: TIME },
    details: { contentType: "text/plain", describedAt: TIME },
  });
  const describer = (answer: DescribedObject | UndescribedObject | undefined, asked: string[] = []): ObjectDescriber => ({
    fields: ["contentType"],
    describe: async (_bucket, key) => (asked.push(key), answer),
  });

  it("are what a HEAD of the same ETag found; nothing for another ETag, nothing found, or another action", async () => {
    expect(await detailsFor(created(), describer(describedAs("e1")))).toStrictEqual({ contentType: "text/plain", describedAt: TIME });
    expect(await detailsFor(created(), describer(describedAs("e2")))).toBeUndefined();
    expect(await detailsFor(created(), describer(undefined))).toBeUndefined();
    const asked: string[] = [];
    expect(
      await detailsFor({ ...common, eventName: "ObjectRemoved:Delete", action: "delete", sequencer: "0A" }, describer(describedAs("e1"), asked)),
    ).toBeUndefined();
    expect(asked).toEqual([]);
  });

  it("are the reason an object S3 will not describe is undescribed", async () => {
    const sealed: UndescribedObject = { details: { describedAt: TIME, withheld: { reason: "sseCustomerKey", fields: ["contentType"] } } };
    expect(await detailsFor(created(), describer(sealed))).toStrictEqual(sealed.details);
  });
});

describe("metadata events", () => {
  const tagged = (versionId?: string): ObjectEvent => ({
    ...common,
    eventName: "ObjectTagging:Put",
    action: "describe",
    field: "tags",
    ...(versionId !== undefined && { versionId }),
  });
  const described: DescribedObject = {
    state: { size: 3, etag: "e1", lastModified: TIME, tags: { a: "1" }, describedAt: "2026-11-21T10:00:02.000Z" },
    details: { tags: { a: "1" }, describedAt: "2026-11-21T10:00:02.000Z" },
  };
  const tags = (answer: DescribedObject | UndescribedObject | undefined): ObjectDescriber => ({ fields: ["tags"], describe: async () => answer });

  it("are ignored unless the stack keeps their field", async () => {
    const { writes, batch, lookup, ledger } = fakes();
    expect((await applyEvent(ledger, lookup, tagged(), batch)).outcome).toBe("ignored");
    expect((await applyEvent(ledger, lookup, tagged(), batch, undefined, { fields: ["contentType"], describe: async () => described })).outcome).toBe(
      "ignored",
    );
    expect(writes).toEqual([]);
  });

  it("write the description, replacing the kept fields", async () => {
    const { writes, batch, lookup, ledger } = fakes();
    const result = await applyEvent(ledger, lookup, tagged(), batch, undefined, tags(described));
    expect(result.outcome).toBe("applied");
    expect(writes).toStrictEqual([
      {
        call: "describe",
        input: {
          bucket: "b",
          key: "k",
          state: described.state,
          replaces: detailAttributesOf(["tags"]),
          eventName: "ObjectTagging:Put",
          eventTime: TIME,
          origin,
        },
      },
    ]);
  });

  it("repair a ledger that holds another version: stale if it holds one live, missing if not", async () => {
    for (const [heldLive, kind] of [
      [true, "stale"],
      [false, "missing"],
    ] as const) {
      const { writes, batch, lookup, ledger } = fakes({ descriptionOutcome: { outcome: "versionNotHeld", heldLive } });
      expect((await applyEvent(ledger, lookup, tagged(), batch, undefined, tags(described))).outcome).toBe("repaired");
      expect(writes[1]).toStrictEqual({
        call: "repair",
        input: { kind, bucket: "b", key: "k", state: described.state, snapshotTime: new Date("2026-11-21T10:00:02.000Z") },
      });
    }
  });

  it("are superseded when the object is gone, and undescribed when S3 will not describe it", async () => {
    const gone = fakes();
    expect((await applyEvent(gone.ledger, gone.lookup, tagged(), gone.batch, undefined, tags(undefined))).outcome).toBe("superseded");
    const sealed = fakes();
    const undescribed: UndescribedObject = { details: { describedAt: TIME, withheld: { reason: "sseCustomerKey", fields: ["tags"] } } };
    expect((await applyEvent(sealed.ledger, sealed.lookup, tagged(), sealed.batch, undefined, tags(undescribed))).outcome).toBe("undescribed");
    expect([...gone.writes, ...sealed.writes]).toEqual([]);
  });

  it("about a version the ledger knows is not current, or S3 no longer holds, write nothing", async () => {
    const held: LedgerRecord = {
      bucket: "b",
      key: "k",
      cause: "ObjectCreated:Put",
      source: "event",
      observedAt: TIME,
      recordedAt: TIME,
      deleted: false,
      size: 1,
      etag: "e",
      lastModified: "2026-11-21T11:00:00.000Z",
      versionId: "v2",
    };
    const older = fakes({ held });
    expect((await applyEvent(older.ledger, older.lookup, tagged("v1"), older.batch, undefined, tags(described))).outcome).toBe("ignored");
    const later = { ...held, lastModified: "2026-11-21T09:00:00.000Z" };
    const gone = fakes({ held: later });
    expect((await applyEvent(gone.ledger, gone.lookup, tagged("v1"), gone.batch, undefined, tags(described))).outcome).toBe("superseded");
    expect(gone.heads).toEqual(["k"]);
    expect([...older.writes, ...gone.writes]).toEqual([]);
  });
});
