/** The messages that carry fan-out reconciliation tasks, and the SQS queue they travel on. */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { ReconcileError } from "./errors.js";
import { parseJsonWith } from "../validation/parse.js";

export const taskMessageSchema = z.object({
  bucket: z.string().min(3),
  runId: z.string().min(1),
  task: z.number().int().nonnegative(),
  phase: z.enum(["scan", "tombstone"]),
});

export type TaskMessage = z.infer<typeof taskMessageSchema>;

/** A task message that is not one: retrying cannot help, so it goes to the DLQ with this reason. */
export class MalformedTaskMessageError extends ReconcileError {}

export function parseTaskMessage(body: string): TaskMessage {
  return parseJsonWith(taskMessageSchema, body, (failure) =>
    failure.reason === "json"
      ? new MalformedTaskMessageError(`reconcile task message is not JSON: ${body.slice(0, 200)}`)
      : new MalformedTaskMessageError(`reconcile task message is invalid: ${failure.issues}`),
  );
}

export interface TaskQueue {
  send(messages: TaskMessage[]): Promise<void>;
}

export function sqsTaskQueue(sqs: SQSClient, queueUrl: string): TaskQueue {
  return {
    async send(messages) {
      for (let start = 0; start < messages.length; start += 10) {
        const chunk = messages.slice(start, start + 10);
        const { Failed = [] } = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) })),
          }),
        );
        if (Failed.length > 0) {
          throw new ReconcileError(
            `could not queue ${Failed.length} reconcile tasks: ${Failed.map((failure) => `${failure.Code}: ${failure.Message}`).join("; ")}`,
          );
        }
      }
    },
  };
}

/**
 * Task messages kept in memory, for a run driven in one process: taken in the order sent. A
 * message the same as one still waiting is dropped (the coordinator may queue a phase's tasks
 * twice when two workers move the run on at once; over SQS the task's lease settles that).
 */
export class MemoryTaskQueue implements TaskQueue {
  private readonly messages: TaskMessage[] = [];
  private readonly waiting = new Set<string>();

  async send(messages: TaskMessage[]): Promise<void> {
    for (const message of messages.map((sent) => taskMessageSchema.parse(sent))) {
      const id = JSON.stringify([message.bucket, message.runId, message.task, message.phase]);
      if (this.waiting.has(id)) continue;
      this.waiting.add(id);
      this.messages.push(message);
    }
  }

  /** Every message waiting, in the order sent; the queue is empty after. */
  takeAll(): TaskMessage[] {
    this.waiting.clear();
    return this.messages.splice(0);
  }
}
