/** Sends ingestion requests to the FIFO queue, grouped per object (see request.ts). */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { deduplicationIdOf, messageGroupOf, type IngestRequestInput } from "./request.js";

export interface IngestQueue {
  send(requests: IngestRequestInput[], nonce?: string): Promise<void>;
}

/** SendMessageBatch takes at most 10 entries. */
const MAX_ENTRIES = 10;

export class SqsIngestQueue implements IngestQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** `nonce` makes a request distinct from an identical one sent within five minutes (a retry, a continuation). */
  async send(requests: IngestRequestInput[], nonce = ""): Promise<void> {
    for (let i = 0; i < requests.length; i += MAX_ENTRIES) {
      const entries = requests.slice(i, i + MAX_ENTRIES).map((request, index) => ({
        Id: String(index),
        MessageBody: JSON.stringify(request),
        MessageGroupId: messageGroupOf(request.bucket, request.key),
        MessageDeduplicationId: deduplicationIdOf(request, nonce),
      }));
      const response = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
      if (response.Failed && response.Failed.length > 0) {
        const failure = response.Failed[0]!;
        throw new Error(`could not queue ${response.Failed.length} ingest request(s): ${failure.Code}: ${failure.Message ?? ""}`);
      }
    }
  }
}
