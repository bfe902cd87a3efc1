/**
 * An SQS queue with its dead-letter queue, as both of the stack's queues are built: SSE on
 * both, four days for work and fourteen for what failed, and a redrive after
 * `maxReceiveCount` receives.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface QueueWithDeadLetterArgs {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  /**
   * Where these queues lived before this component existed: aliases keep their URNs, so an
   * upgrade does not replace a queue and lose its messages.
   */
  formerParent?: pulumi.Resource;
  /**
   * FIFO (ordered per message group, and deduplicated); its DLQ must be FIFO too. Autonamed
   * FIFO queues get their `.fifo` suffix from the provider (pulumi/pulumi-aws#1398).
   */
  fifo?: boolean;
}

export class QueueWithDeadLetter extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;

  constructor(name: string, args: QueueWithDeadLetterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:QueueWithDeadLetter", name, {}, opts);
    const child = { parent: this, ...(args.formerParent && { aliases: [{ parent: args.formerParent }] }) };
    const fifo = args.fifo ? { fifoQueue: true, contentBasedDeduplication: false } : {};
    this.deadLetterQueue = new aws.sqs.Queue(`${name}-dlq`, { messageRetentionSeconds: 14 * 86_400, sqsManagedSseEnabled: true, ...fifo }, child);
    this.queue = new aws.sqs.Queue(
      name,
      {
        visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
        messageRetentionSeconds: 4 * 86_400,
        sqsManagedSseEnabled: true,
        ...fifo,
        // High throughput FIFO: the limit applies per message group (here, per object), not per queue
        // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html).
        ...(args.fifo && { deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" }),
        redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: this.deadLetterQueue.arn, maxReceiveCount: args.maxReceiveCount }),
      },
      child,
    );
    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
