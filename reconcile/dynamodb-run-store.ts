/**
 * Runs kept in DynamoDB (the contract is run-store.ts, the model run-model.ts): one run item,
 * one item per range task and one item per orphan found, kept in the ledger table beside the
 * objects under the keys `ledger/keys.ts` lays out. Everything expires through the table's TTL.
 *
 * Each state change is one conditional write (a task's completion and its run's totals one
 * transaction): a task is owned through a lease, and a run moves between statuses only from
 * the status its writer read.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  paginateQuery,
  type DynamoDBDocumentClient,
  type NativeAttributeValue,
} from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { attributeNames, reconcileKeys, reconcilePartitionKey } from "../ledger/index.js";
import { BoundedWriter } from "../foundation/bounded-writer.js";
import { TaskLeaseError } from "./errors.js";
import { newTasks, PHASES, type RunCounts, type RunRecord, type RunStatus, type TaskPhase, type TaskRecord } from "./run-model.js";
import type { KeyRange } from "./source.js";
import type { DriftRecord } from "./drift-record.js";
import type { RunStore, TransitionFields } from "./run-store.js";
import { RECONCILE_DEFAULTS } from "./defaults.js";

const RETENTION_SECONDS = RECONCILE_DEFAULTS.runRetentionDays * 86_400;
// The table's key and TTL attributes, as the ledger spells them (ledger/record.ts).
const { pk: PK, sk: SK, expiresAt: TTL } = attributeNames;

const runPartition = reconcilePartitionKey;
const { run: runSortKey, task: taskSortKey, orphanPartition, driftPartition } = reconcileKeys;

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException || (error as Error).name === "TransactionCanceledException";

function stripKeys<T>(item: Record<string, NativeAttributeValue>): T {
  const { [PK]: _pk, [SK]: _sk, [TTL]: _expires, ...rest } = item;
  return rest as T;
}

/** `SET #counts.#scanned = #counts.#scanned + :scanned, ...` for the given counts. */
function addCounts(counts: Partial<RunCounts>, target = "counts") {
  const names: Record<string, string> = { [`#${target}`]: target };
  const values: Record<string, number> = {};
  const clauses = Object.entries(counts).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${target}_${name}`] = value;
    return `#${target}.#${name} = #${target}.#${name} + :${target}_${name}`;
  });
  return { clauses, names, values };
}

export class DynamoDbRunStore implements RunStore {
  constructor(
    private readonly tableName: string,
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private expiresAt(): number {
    return Math.floor(this.now().getTime() / 1000) + RETENTION_SECONDS;
  }

  async createRun(run: RunRecord, ranges: KeyRange[]): Promise<TaskRecord[]> {
    const tasks = newTasks(run, ranges);
    const limit = pLimit(8);
    await Promise.all(
      tasks.map((task) =>
        limit(() =>
          this.documentClient.send(
            new PutCommand({
              TableName: this.tableName,
              Item: { [PK]: runPartition(run.bucket), [SK]: taskSortKey(run.runId, task.task), [TTL]: this.expiresAt(), ...task },
            }),
          ),
        ),
      ),
    );
    await this.documentClient.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [PK]: runPartition(run.bucket), [SK]: runSortKey(run.runId), [TTL]: this.expiresAt(), ...run },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": PK },
      }),
    );
    return tasks;
  }

  async getRun(bucket: string, runId: string): Promise<RunRecord | undefined> {
    const { Item } = await this.documentClient.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: runPartition(bucket), [SK]: runSortKey(runId) }, ConsistentRead: true }),
    );
    return Item && stripKeys<RunRecord>(Item);
  }

  /** Items of a bucket's run partition whose sort key starts with `prefix`. */
  private async *queryRunPartition<T>(bucket: string, prefix: string, newestFirst = false): AsyncGenerator<T> {
    const pages = paginateQuery(
      { client: this.documentClient },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
        ExpressionAttributeValues: { ":pk": runPartition(bucket), ":prefix": prefix },
        ScanIndexForward: !newestFirst,
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) yield stripKeys<T>(item);
  }

  listRuns(bucket: string): AsyncGenerator<RunRecord> {
    return this.queryRunPartition<RunRecord>(bucket, reconcileKeys.runs, true);
  }

  async getTask(bucket: string, runId: string, task: number): Promise<TaskRecord | undefined> {
    const { Item } = await this.documentClient.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: runPartition(bucket), [SK]: taskSortKey(runId, task) }, ConsistentRead: true }),
    );
    return Item && stripKeys<TaskRecord>(Item);
  }

  async listTasks(bucket: string, runId: string): Promise<TaskRecord[]> {
    const tasks: TaskRecord[] = [];
    for await (const task of this.queryRunPartition<TaskRecord>(bucket, reconcileKeys.tasksOf(runId))) tasks.push(task);
    return tasks;
  }

  async claimTask(task: TaskRecord, phase: TaskPhase, leaseId: string, leaseMs: number): Promise<TaskRecord | undefined> {
    const now = this.now().getTime();
    try {
      const { Attributes } = await this.documentClient.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: runPartition(task.bucket), [SK]: taskSortKey(task.runId, task.task) },
          UpdateExpression: "SET leaseId = :lease, leaseUntil = :until, attempts = attempts + :one",
          ConditionExpression: "(attribute_not_exists(leaseUntil) OR leaseUntil < :now) AND #done = :false",
          ExpressionAttributeNames: { "#done": PHASES[phase].done },
          ExpressionAttributeValues: { ":lease": leaseId, ":until": now + leaseMs, ":now": now, ":one": 1, ":false": false },
          ReturnValues: "ALL_NEW",
        }),
      );
      return stripKeys<TaskRecord>(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async saveCheckpoint(task: TaskRecord, phase: TaskPhase, leaseId: string, checkpoint: string, counts: RunCounts, release: boolean): Promise<void> {
    const fields = PHASES[phase];
    try {
      await this.documentClient.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: runPartition(task.bucket), [SK]: taskSortKey(task.runId, task.task) },
          UpdateExpression: `SET #checkpoint = :checkpoint, #counts = :counts${release ? " REMOVE leaseId, leaseUntil" : ""}`,
          ConditionExpression: "leaseId = :lease",
          ExpressionAttributeNames: { "#checkpoint": fields.checkpoint, "#counts": fields.counts },
          ExpressionAttributeValues: { ":checkpoint": checkpoint, ":counts": fields.ownCounts(counts), ":lease": leaseId },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new TaskLeaseError(`task ${task.task} of run ${task.runId} was taken over by another worker`);
      throw error;
    }
    // Progress keeps the run from being failed as stalled by the next scheduled planning.
    await this.documentClient.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: runPartition(task.bucket), [SK]: runSortKey(task.runId) },
        UpdateExpression: "SET updatedAt = :now",
        ConditionExpression: "attribute_exists(#pk)",
        ExpressionAttributeNames: { "#pk": PK },
        ExpressionAttributeValues: { ":now": this.now().toISOString() },
      }),
    );
  }

  async completeTask(task: TaskRecord, phase: TaskPhase, leaseId: string, counts: RunCounts): Promise<void> {
    const fields = PHASES[phase];
    const phaseCounts = fields.ownCounts(counts);
    const added = addCounts(phaseCounts);
    try {
      await this.documentClient.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { [PK]: runPartition(task.bucket), [SK]: taskSortKey(task.runId, task.task) },
                UpdateExpression: `SET #done = :true, #counts = :counts REMOVE leaseId, leaseUntil`,
                ConditionExpression: "leaseId = :lease AND #done = :false",
                ExpressionAttributeNames: { "#done": fields.done, "#counts": fields.counts },
                ExpressionAttributeValues: { ":true": true, ":false": false, ":lease": leaseId, ":counts": phaseCounts },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { [PK]: runPartition(task.bucket), [SK]: runSortKey(task.runId) },
                UpdateExpression: `SET #tally = #tally + :one, updatedAt = :now, ${added.clauses.join(", ")}`,
                ConditionExpression: "#status = :status",
                ExpressionAttributeNames: { "#tally": fields.tally, "#status": "status", ...added.names },
                ExpressionAttributeValues: { ":one": 1, ":now": this.now().toISOString(), ":status": fields.runStatus, ...added.values },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new TaskLeaseError(`task ${task.task} of run ${task.runId} lost its lease or its run moved on before it completed`);
      throw error;
    }
  }

  async transition(run: RunRecord, to: RunStatus, fields: TransitionFields = {}): Promise<boolean> {
    const sets = Object.keys(fields).map((name) => `#${name} = :${name}`);
    try {
      await this.documentClient.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: runPartition(run.bucket), [SK]: runSortKey(run.runId) },
          UpdateExpression: `SET #status = :to, updatedAt = :now${sets.map((set) => `, ${set}`).join("")}`,
          ConditionExpression: "#status = :from",
          ExpressionAttributeNames: { "#status": "status", ...Object.fromEntries(Object.keys(fields).map((name) => [`#${name}`, name])) },
          ExpressionAttributeValues: {
            ":to": to,
            ":from": run.status,
            ":now": this.now().toISOString(),
            ...Object.fromEntries(Object.entries(fields).map(([name, value]) => [`:${name}`, value])),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markTombstonesQueued(run: RunRecord): Promise<void> {
    await this.documentClient.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: runPartition(run.bucket), [SK]: runSortKey(run.runId) },
        UpdateExpression: "SET tombstonesQueued = :true",
        ExpressionAttributeValues: { ":true": true },
      }),
    );
  }

  async putDriftSample(task: TaskRecord, drift: DriftRecord): Promise<void> {
    await this.documentClient.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [PK]: driftPartition(task.bucket, task.runId), [SK]: drift.key, [TTL]: this.expiresAt(), drift },
      }),
    );
  }

  async *driftSample(bucket: string, runId: string): AsyncGenerator<DriftRecord> {
    const pages = paginateQuery(
      { client: this.documentClient },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": PK },
        ExpressionAttributeValues: { ":pk": driftPartition(bucket, runId) },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) yield item.drift as DriftRecord;
  }

  async putOrphan(task: TaskRecord, key: string): Promise<void> {
    await this.documentClient.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [PK]: orphanPartition(task.bucket, task.runId, task.task), [SK]: key, [TTL]: this.expiresAt() },
      }),
    );
  }

  async discardOrphansAfter(task: TaskRecord, after: string | undefined): Promise<void> {
    const deletions = new BoundedWriter(8);
    for await (const key of this.orphans(task, after)) {
      await deletions.submit(async () => {
        await this.documentClient.send(
          new DeleteCommand({ TableName: this.tableName, Key: { [PK]: orphanPartition(task.bucket, task.runId, task.task), [SK]: key } }),
        );
      });
    }
    await deletions.drain();
  }

  async *orphans(task: TaskRecord, after?: string): AsyncGenerator<string> {
    const pages = paginateQuery(
      { client: this.documentClient },
      {
        TableName: this.tableName,
        KeyConditionExpression: after === undefined ? "#pk = :pk" : "#pk = :pk AND #sk > :after",
        ExpressionAttributeNames: { "#pk": PK, ...(after !== undefined && { "#sk": SK }) },
        ExpressionAttributeValues: { ":pk": orphanPartition(task.bucket, task.runId, task.task), ...(after !== undefined && { ":after": after }) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) yield item[SK] as string;
  }
}
