/**
 * The publisher wired once, from clients and settings: the Lambda (functions/stream.ts) and the
 * local stack's stream poller both build it here, so they run one code path.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { publishCounts } from "../observability/emf.js";
import { METRICS } from "../observability/metrics.js";
import { publishRecords, type PublishReport } from "./publisher.js";
import { eventBridgeTarget, snsFifoTarget, type ChangeTarget } from "./targets.js";

export interface PublisherSettings {
  topicArn?: string | undefined;
  eventBusName?: string | undefined;
  publishAttempts: number;
}

export interface PublisherWiring {
  clients: { sns?: SNSClient; eventBridge?: EventBridgeClient };
  settings: PublisherSettings;
  logger: Logger;
  /** Absent locally: reports go to `onBatchComplete` instead. */
  metrics?: Metrics;
  onBatchComplete?: (report: PublishReport) => void;
}

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export function publisherTargets(wiring: Pick<PublisherWiring, "clients" | "settings">): ChangeTarget[] {
  const { clients, settings } = wiring;
  const targets: ChangeTarget[] = [];
  if (settings.topicArn !== undefined) {
    if (!clients.sns) throw new Error("an SNS client is needed to publish to TOPIC_ARN");
    targets.push(snsFifoTarget(clients.sns, settings.topicArn));
  }
  if (settings.eventBusName !== undefined) {
    if (!clients.eventBridge) throw new Error("an EventBridge client is needed to publish to EVENT_BUS");
    targets.push(eventBridgeTarget(clients.eventBridge, settings.eventBusName));
  }
  return targets;
}

export function buildPublisher(wiring: PublisherWiring): StreamHandler {
  const targets = publisherTargets(wiring);
  return async (event) => {
    const report = await publishRecords(event.Records, { targets, maxAttempts: wiring.settings.publishAttempts });
    if (report.failure) {
      wiring.logger.error("change stream: batch stopped at a refused record; Lambda retries from it", { ...report.failure, published: report.published });
    }
    if (wiring.metrics) {
      publishCounts(wiring.metrics, {
        [METRICS.stream.changesPublished]: report.published,
        [METRICS.stream.recordsSkipped]: report.skipped,
        [METRICS.stream.batchesStopped]: report.failure ? 1 : 0,
      });
    }
    wiring.onBatchComplete?.(report);
    return report.response;
  };
}
