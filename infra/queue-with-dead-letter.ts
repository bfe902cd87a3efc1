/**
 * An SQS queue with its dead-letter queue, as every queue of the stack is built: SSE on both,
 * four days for work and fourteen for what failed, a redrive after `maxReceiveCount` receives,
 * both reachable over TLS only, and the DLQ usable as one by its own queue alone.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, policyDocument, type Statement } from "./policy.js";

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
  /**
   * What the work queue's policy says beyond TLS only, given its ARN (who else may send). A
   * queue has one policy, so whoever needs more of it says so here rather than with a second one.
   */
  statements?: (queueArn: pulumi.Output<string>) => Statement[];
}

/**
 * The DLQ's redrive-allow policy: only `sourceQueueArn` may name it as its dead-letter queue
 * (`byQueue`; SQS developer guide, "Using policies for dead-letter queues", and the
 * RedriveAllowPolicy attribute of SetQueueAttributes:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
 */
export const redriveAllowPolicy = (sourceQueueArn: pulumi.Input<string>): pulumi.Output<string> =>
  pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [sourceQueueArn] });

export class QueueWithDeadLetter extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  /** The work queue's policy: a notification configuration that sends here waits for it. */
  readonly queuePolicy: aws.sqs.QueuePolicy;

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
    // A resource of its own: on the DLQ itself it would need the work queue's ARN, which needs the DLQ's.
    new aws.sqs.RedriveAllowPolicy(`${name}-dlq`, { queueUrl: this.deadLetterQueue.url, redriveAllowPolicy: redriveAllowPolicy(this.queue.arn) }, child);
    this.queuePolicy = new aws.sqs.QueuePolicy(
      name,
      { queueUrl: this.queue.url, policy: policyDocument([...(args.statements?.(this.queue.arn) ?? []), denyInsecureTransport("sqs:*", this.queue.arn)]) },
      child,
    );
    new aws.sqs.QueuePolicy(
      `${name}-dlq`,
      { queueUrl: this.deadLetterQueue.url, policy: policyDocument([denyInsecureTransport("sqs:*", this.deadLetterQueue.arn)]) },
      child,
    );
    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
