/**
 * Schemas of the message bodies the tracker accepts, shaped after AWS's documented examples:
 * S3 event notifications (S3 -> SQS, optionally through SNS), the `s3:TestEvent` S3 sends when
 * a notification configuration is saved, and EventBridge "Object Created/Deleted" events.
 * Fields the tracker does not use are allowed through untouched.
 */
import { z } from "zod";

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "not an ISO-8601 time");

/**
 * Who made the change: every S3 notification record carries `userIdentity.principalId`,
 * `requestParameters.sourceIPAddress` and `responseElements.x-amz-request-id`
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
 * Optional here: a record without them is still a change to track.
 */
export const s3EventRecordSchema = z.object({
  eventSource: z.literal("aws:s3"),
  eventName: z.string().min(1),
  eventTime: isoTime,
  userIdentity: z.object({ principalId: z.string().optional() }).optional(),
  requestParameters: z.object({ sourceIPAddress: z.string().optional() }).optional(),
  responseElements: z.object({ "x-amz-request-id": z.string().optional() }).optional(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

export const s3NotificationSchema = z.object({ Records: z.array(z.unknown()) });

export const s3TestEventSchema = z.object({ Event: z.literal("s3:TestEvent") });

export const snsEnvelopeSchema = z.object({ Type: z.literal("Notification"), Message: z.string() });

export const eventBridgeEventSchema = z.object({
  source: z.literal("aws.s3"),
  "detail-type": z.string(),
  time: isoTime,
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      etag: z.string().optional(),
      "version-id": z.string().optional(),
      sequencer: z.string().optional(),
    }),
    reason: z.string().optional(),
    "deletion-type": z.string().optional(),
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html: the detail's
    // `requester`, `source-ip-address` and `request-id`.
    requester: z.string().optional(),
    "source-ip-address": z.string().optional(),
    "request-id": z.string().optional(),
  }),
});

export type S3EventRecord = z.infer<typeof s3EventRecordSchema>;
export type EventBridgeEvent = z.infer<typeof eventBridgeEventSchema>;
