/**
 * Turns one SQS message body into the object events it carries, whatever the envelope:
 * an S3 notification (several Records possible), the same wrapped by SNS, an EventBridge
 * event, or S3's TestEvent. Invalid input throws {@link MalformedMessageError}.
 */
import type { z } from "zod";
import { MalformedMessageError } from "./errors.js";
import { decodeS3Key, S3KeyEncodingError } from "../aws/s3-key.js";
import {
  eventBridgeEventSchema,
  s3EventRecordSchema,
  s3NotificationSchema,
  s3TestEventSchema,
  snsEnvelopeSchema,
  type EventBridgeEvent,
  type S3EventRecord,
} from "./schema.js";
import { describeIssues } from "../validation/parse.js";
import { METADATA_EVENTS, type MetadataField } from "./subscriptions.js";

/** Who made a change, as its S3 event states it; empty for reconciliation's repairs. */
export interface ChangeOrigin {
  /** The principal: `userIdentity.principalId`, or EventBridge's `requester` (an account or service). */
  requester?: string;
  sourceIp?: string;
  /** S3's request id, to look the request up in CloudTrail or S3 server access logs. */
  requestId?: string;
}

interface EventBase {
  bucket: string;
  /** Decoded object key. */
  key: string;
  eventName: string;
  /** ISO-8601. */
  eventTime: string;
  /**
   * How finely the source states `eventTime`: S3 notifications give milliseconds, EventBridge
   * whole seconds (its `time` field), so such an event happened anywhere in that second.
   */
  eventTimeResolutionMs: number;
  /** Who made the change, as the event states it. */
  origin: ChangeOrigin;
}

/** The object now exists with this state. */
export interface CreatedEvent extends EventBase {
  action: "upsert";
  sequencer: string;
  size: number;
  etag: string;
  versionId?: string;
}

/** The current version is gone: no object, or a delete marker hides it. */
export interface DeletedEvent extends EventBase {
  action: "delete";
  sequencer: string;
  versionId?: string;
}

/**
 * One specific version was permanently deleted. If it was the current one an older version
 * may now be current, so the tracker must ask S3 what the key holds now.
 */
export interface VersionDeletedEvent extends EventBase {
  action: "version-deleted";
  sequencer: string;
  versionId: string;
}

/**
 * Tagging, a storage class transition, a restore: the object's content is unchanged, and with
 * enrichment on, the tracker asks S3 for the details `field` belongs to. S3 gives these events
 * no sequencer (see ledger/writes.ts `DescriptionUpdate`).
 */
export interface MetadataEvent extends EventBase {
  action: "describe";
  field: MetadataField;
  /**
   * The version it is about, as S3 names it ("null" included), in a versioned bucket; it may be a
   * version that is not the current one (tracker/metadata-version.ts).
   */
  versionId?: string;
}

/** ACL, replication...: no change to the indexed state. */
export interface IgnoredEvent extends EventBase {
  action: "ignore";
}

export type ObjectEvent = CreatedEvent | DeletedEvent | VersionDeletedEvent | MetadataEvent | IgnoredEvent;

export type ParsedMessage = { kind: "test" } | { kind: "events"; events: ObjectEvent[] };

interface RawObjectEvent {
  bucket: string;
  key: string;
  eventName: string;
  eventTime: string;
  eventTimeResolutionMs: number;
  origin: ChangeOrigin;
  size?: number | undefined;
  etag?: string | undefined;
  versionId?: string | undefined;
  sequencer?: string | undefined;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MalformedMessageError(`invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

function requireField<T>(value: T | undefined, field: string, raw: RawObjectEvent): T {
  if (value === undefined) {
    throw new MalformedMessageError(`${raw.eventName} event for ${raw.bucket}/${raw.key} has no ${field}`);
  }
  return value;
}

/** A version id of "null" is what S3 reports for objects written while versioning was off. */
function isRealVersion(versionId: string | undefined): versionId is string {
  return versionId !== undefined && versionId !== "null";
}

function classify(raw: RawObjectEvent): ObjectEvent {
  const base = {
    bucket: raw.bucket,
    key: raw.key,
    eventName: raw.eventName,
    eventTime: new Date(raw.eventTime).toISOString(),
    eventTimeResolutionMs: raw.eventTimeResolutionMs,
    origin: raw.origin,
  };
  const [category, detail] = raw.eventName.split(":", 2);
  const isDeletion = category === "ObjectRemoved" || category === "LifecycleExpiration";
  if (category === "ObjectCreated") {
    return {
      ...base,
      action: "upsert",
      sequencer: requireField(raw.sequencer, "sequencer", raw),
      size: requireField(raw.size, "size", raw),
      etag: requireField(raw.etag, "eTag", raw).replace(/"/g, ""),
      ...(isRealVersion(raw.versionId) && { versionId: raw.versionId }),
    };
  }
  if (isDeletion && detail === "DeleteMarkerCreated") {
    return {
      ...base,
      action: "delete",
      sequencer: requireField(raw.sequencer, "sequencer", raw),
      ...(raw.versionId !== undefined && { versionId: raw.versionId }),
    };
  }
  if (isDeletion && detail === "Delete") {
    const sequencer = requireField(raw.sequencer, "sequencer", raw);
    // Any delete naming a version, "null" included (the version written while versioning was
    // suspended), removed that version only: an older one may be current now, so S3 is asked.
    // Only a delete in a bucket that was never versioned carries no version id.
    return raw.versionId !== undefined ? { ...base, action: "version-deleted", sequencer, versionId: raw.versionId } : { ...base, action: "delete", sequencer };
  }
  const metadata = METADATA_EVENTS.find((event) => event.eventName === raw.eventName);
  if (metadata) return { ...base, action: "describe", field: metadata.field, ...(raw.versionId !== undefined && { versionId: raw.versionId }) };
  return { ...base, action: "ignore" };
}

/** A key that is not valid URL encoding fails its own message, as any other malformed part. */
function keyOf(encoded: string): string {
  try {
    return decodeS3Key(encoded);
  } catch (error) {
    if (error instanceof S3KeyEncodingError) throw new MalformedMessageError(error.message, { cause: error });
    throw error;
  }
}

function originOf(requester: string | undefined, sourceIp: string | undefined, requestId: string | undefined): ChangeOrigin {
  return { ...(requester && { requester }), ...(sourceIp && { sourceIp }), ...(requestId && { requestId }) };
}

function fromS3Record(record: S3EventRecord): RawObjectEvent {
  const { bucket, object } = record.s3;
  return {
    bucket: bucket.name,
    key: keyOf(object.key),
    eventName: record.eventName.replace(/^s3:/, ""),
    eventTime: record.eventTime,
    eventTimeResolutionMs: 1,
    origin: originOf(record.userIdentity?.principalId, record.requestParameters?.sourceIPAddress, record.responseElements?.["x-amz-request-id"]),
    size: object.size,
    etag: object.eTag,
    versionId: object.versionId,
    sequencer: object.sequencer,
  };
}

const EVENTBRIDGE_CREATE_REASONS: Record<string, string> = {
  PutObject: "Put",
  "POST Object": "Post",
  CopyObject: "Copy",
  CompleteMultipartUpload: "CompleteMultipartUpload",
};

/** Maps EventBridge's detail-type/reason/deletion-type onto the S3 notification event name. */
function eventBridgeEventName(event: EventBridgeEvent): string {
  const { reason, "deletion-type": deletionType } = event.detail;
  switch (event["detail-type"]) {
    case "Object Created":
      return `ObjectCreated:${EVENTBRIDGE_CREATE_REASONS[reason ?? ""] ?? reason ?? "Put"}`;
    case "Object Deleted": {
      const category = reason === "Lifecycle Expiration" ? "LifecycleExpiration" : "ObjectRemoved";
      return `${category}:${deletionType === "Delete Marker Created" ? "DeleteMarkerCreated" : "Delete"}`;
    }
    default:
      return METADATA_EVENTS.find((metadata) => metadata.detailType === event["detail-type"])?.eventName ?? `EventBridge:${event["detail-type"]}`;
  }
}

function fromEventBridge(event: EventBridgeEvent): RawObjectEvent {
  const { bucket, object } = event.detail;
  return {
    bucket: bucket.name,
    // Form-style URL-encoded like notification keys: AWS's own Powertools for Python decodes
    // `detail.object.key` with unquote_plus. Not verifiable here, so reconciliation reports
    // orphans and missing keys that are each other's encoded form (design notes, section 2).
    key: keyOf(object.key),
    eventName: eventBridgeEventName(event),
    eventTime: event.time,
    // EventBridge's `time` has whole seconds only.
    eventTimeResolutionMs: 1000,
    origin: originOf(event.detail.requester, event.detail["source-ip-address"], event.detail["request-id"]),
    size: object.size,
    etag: object.etag,
    versionId: object["version-id"],
    sequencer: object.sequencer,
  };
}

function parseEnvelope(json: unknown, depth: number): ParsedMessage {
  if (s3TestEventSchema.safeParse(json).success) return { kind: "test" };
  const notification = s3NotificationSchema.safeParse(json);
  if (notification.success) {
    const events = notification.data.Records.map((record, index) => classify(fromS3Record(parseWith(s3EventRecordSchema, record, `S3 event record ${index}`))));
    return { kind: "events", events };
  }
  if (typeof json === "object" && json !== null && "detail-type" in json) {
    return { kind: "events", events: [classify(fromEventBridge(parseWith(eventBridgeEventSchema, json, "EventBridge S3 event")))] };
  }
  const sns = snsEnvelopeSchema.safeParse(json);
  if (sns.success && depth === 0) return parseEnvelope(parseJson(sns.data.Message), depth + 1);
  throw new MalformedMessageError("message is not an S3 event notification, S3 TestEvent or EventBridge S3 event");
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new MalformedMessageError("message body is not JSON", { cause: error });
  }
}

export function parseMessageBody(body: string): ParsedMessage {
  return parseEnvelope(parseJson(body), 0);
}
