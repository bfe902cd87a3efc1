/**
 * Which S3 events the ledger subscribes to, in both delivery modes: the content events always,
 * and the metadata events only for the enrichment fields they change. Infrastructure and the
 * local stack subscribe from here; the parser classifies from here.
 *
 * Names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
 * (S3 notifications) and https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-mapping-troubleshooting.html
 * (the EventBridge detail-type of each).
 */
import type { EnrichmentField } from "./enrichment-fields.js";

/** Creates, deletes and lifecycle expirations (which are not ObjectRemoved events). */
const CONTENT_NOTIFICATION_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"];
const CONTENT_DETAIL_TYPES = ["Object Created", "Object Deleted"];

export type MetadataField = Extract<EnrichmentField, "tags" | "storageClass">;

/** Events that change an object's metadata only, and the field each changes. */
export const METADATA_EVENTS: readonly { eventName: string; detailType: string; field: MetadataField }[] = [
  { eventName: "ObjectTagging:Put", detailType: "Object Tags Added", field: "tags" },
  { eventName: "ObjectTagging:Delete", detailType: "Object Tags Deleted", field: "tags" },
  { eventName: "LifecycleTransition", detailType: "Object Storage Class Changed", field: "storageClass" },
  { eventName: "IntelligentTiering", detailType: "Object Access Tier Changed", field: "storageClass" },
  { eventName: "ObjectRestore:Post", detailType: "Object Restore Initiated", field: "storageClass" },
  { eventName: "ObjectRestore:Completed", detailType: "Object Restore Completed", field: "storageClass" },
  { eventName: "ObjectRestore:Delete", detailType: "Object Restore Expired", field: "storageClass" },
];

/** The metadata events a stack that keeps `fields` subscribes to. */
export const metadataEventsFor = (fields: readonly EnrichmentField[]) => METADATA_EVENTS.filter((event) => fields.includes(event.field));

/** The event types of a bucket notification configuration. */
export function notificationEvents(fields: readonly EnrichmentField[]): string[] {
  return [...CONTENT_NOTIFICATION_EVENTS, ...metadataEventsFor(fields).map((event) => `s3:${event.eventName}`)];
}

/** The detail-types of an EventBridge rule. */
export function eventBridgeDetailTypes(fields: readonly EnrichmentField[]): string[] {
  return [...CONTENT_DETAIL_TYPES, ...metadataEventsFor(fields).map((event) => event.detailType)];
}

/** Whether a bucket notification configured with `eventTypes` delivers an event named `eventName` (no `s3:` prefix). */
export function isSubscribed(eventTypes: readonly string[], eventName: string): boolean {
  return eventTypes.some((type) => {
    const name = type.replace(/^s3:/, "");
    return name.endsWith(":*") ? eventName.startsWith(name.slice(0, -1)) : eventName === name;
  });
}
