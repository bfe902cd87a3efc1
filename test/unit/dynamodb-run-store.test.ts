/**
 * Reconciliation's run store in DynamoDB (reconcile/dynamodb-run-store.ts) over a recording
 * in-memory table: the keys and TTL of each item, and the exact condition of each state change
 * (a task's lease, a run's status), which is the decision each write makes.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import { TaskLeaseError } from "../../reconcile/errors.js";
import { newTasks, zeroCounts, type RunRecord } from "../../reconcile/run-model.js";
import { fakeLedgerTable, type Item, type Sent } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const EXPIRES = Math.floor(NOW.getTime() / 1000) + 30 * 86_400;
const RUN_ID = "2026-11-21T03:00:00.000Z-abc";

const run: RunRecord = {
  bucket: "b",
  runId: RUN_ID,
  status: "scanning",
  source: { kind: "list" },
  snapshotTime: "2026-11-21T03:00:00.000Z",
  dryRun: false,
  force: false,
  maxDeleteFraction: 0.1,
  tasksTotal: 2,
  tasksDone: 0,
  tombstoneTasksTotal: 0,
  tombstoneTasksDone: 0,
  tombstonesQueued: false,
  counts: zeroCounts(),
  startedAt: "s",
  updatedAt: "u",
};
const [task] = newTasks(run, [{ through: "m" }]);

function store(items: Item[] = [], onSend?: (sent: Sent) => unknown) {
  const fake = fakeLedgerTable(items, onSend ? { onSend } : {});
  return { ...fake, store: new DynamoDbRunStore("ledger", fake.client, () => NOW) };
}
const refused = () => Promise.reject(new ConditionalCheckFailedException({ message: "refused", $metadata: {} }));
const cancelled = () => Promise.reject(Object.assign(new Error("cancelled"), { name: "TransactionCanceledException" }));

describe("DynamoDbRunStore", () => {
  it("writes the tasks, then the run only where none is, each expiring after the runs' retention", async () => {
    const { store: runs, sent } = store();
    const tasks = await runs.createRun(run, [{ through: "m" }, { after: "m" }]);
    expect(tasks).toStrictEqual(newTasks(run, [{ through: "m" }, { after: "m" }]));
    expect(sent.map(({ input }) => input)).toStrictEqual([
      { TableName: "ledger", Item: { pk: "reconcile#b", sk: `task#${RUN_ID}#00000`, expiresAt: EXPIRES, ...tasks[0] } },
      { TableName: "ledger", Item: { pk: "reconcile#b", sk: `task#${RUN_ID}#00001`, expiresAt: EXPIRES, ...tasks[1] } },
      {
        TableName: "ledger",
        Item: { pk: "reconcile#b", sk: `run#${RUN_ID}`, expiresAt: EXPIRES, ...run },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": "pk" },
      },
    ]);
  });

  it("reads a run and a task consistently, without the table's keys", async () => {
    const items = [
      { pk: "reconcile#b", sk: `run#${RUN_ID}`, expiresAt: 1, ...run },
      { pk: "reconcile#b", sk: `task#${RUN_ID}#00000`, expiresAt: 1, ...task },
    ];
    const { store: runs, sent } = store(items);
    expect(await runs.getRun("b", RUN_ID)).toStrictEqual(run);
    expect(await runs.getTask("b", RUN_ID, 0)).toStrictEqual(task);
    expect(await runs.getRun("b", "none")).toBeUndefined();
    expect(await runs.getTask("b", RUN_ID, 1)).toBeUndefined();
    expect(sent[0]!.input).toStrictEqual({ TableName: "ledger", Key: { pk: "reconcile#b", sk: `run#${RUN_ID}` }, ConsistentRead: true });
    expect(sent[1]!.input).toStrictEqual({ TableName: "ledger", Key: { pk: "reconcile#b", sk: `task#${RUN_ID}#00000` }, ConsistentRead: true });
  });

  it("lists a bucket's runs newest first and a run's tasks in order", async () => {
    const older = { ...run, runId: "2026-11-20T03:00:00.000Z-x" };
    const items = [
      { pk: "reconcile#b", sk: `run#${older.runId}`, ...older },
      { pk: "reconcile#b", sk: `run#${RUN_ID}`, ...run },
      { pk: "reconcile#b", sk: `task#${RUN_ID}#00001`, ...task, task: 1 },
      { pk: "reconcile#b", sk: `task#${RUN_ID}#00000`, ...task },
      { pk: "reconcile#b", sk: `task#other#00000`, ...task, runId: "other" },
    ];
    const { store: runs, queries } = store(items);
    const listed: RunRecord[] = [];
    for await (const found of runs.listRuns("b")) listed.push(found);
    expect(listed.map(({ runId }) => runId)).toEqual([RUN_ID, older.runId]);
    expect((await runs.listTasks("b", RUN_ID)).map(({ task: index }) => index)).toEqual([0, 1]);
    expect(queries()).toStrictEqual([
      {
        TableName: "ledger",
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
        ExpressionAttributeValues: { ":pk": "reconcile#b", ":prefix": "run#" },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      {
        TableName: "ledger",
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
        ExpressionAttributeValues: { ":pk": "reconcile#b", ":prefix": `task#${RUN_ID}#` },
        ScanIndexForward: true,
        ConsistentRead: true,
      },
    ]);
  });

  it("claims a task whose lease lapsed and whose phase is not done, or answers undefined", async () => {
    const claimed = { pk: "reconcile#b", sk: "x", expiresAt: 1, ...task, leaseId: "L", leaseUntil: NOW.getTime() + 5000, attempts: 1 };
    const answers: (() => unknown)[] = [() => ({ Attributes: claimed }), refused, cancelled, () => Promise.reject(new Error("down"))];
    const { store: runs, sent } = store([], () => answers.shift()!());
    expect(await runs.claimTask(task!, "tombstone", "L", 5000)).toStrictEqual({ ...task, leaseId: "L", leaseUntil: NOW.getTime() + 5000, attempts: 1 });
    expect(sent[0]!.input).toStrictEqual({
      TableName: "ledger",
      Key: { pk: "reconcile#b", sk: `task#${RUN_ID}#00000` },
      UpdateExpression: "SET leaseId = :lease, leaseUntil = :until, attempts = attempts + :one",
      ConditionExpression: "(attribute_not_exists(leaseUntil) OR leaseUntil < :now) AND #done = :false",
      ExpressionAttributeNames: { "#done": "tombstoneDone" },
      ExpressionAttributeValues: { ":lease": "L", ":until": NOW.getTime() + 5000, ":now": NOW.getTime(), ":one": 1, ":false": false },
      ReturnValues: "ALL_NEW",
    });
    expect(await runs.claimTask(task!, "scan", "L", 1)).toBeUndefined();
    expect(sent[1]!.input.ExpressionAttributeNames).toStrictEqual({ "#done": "scanDone" });
    expect(await runs.claimTask(task!, "scan", "L", 1)).toBeUndefined();
    await expect(runs.claimTask(task!, "scan", "L", 1)).rejects.toThrow("down");
  });

  it("saves a checkpoint only under its lease, releasing it when asked, and then marks the run's progress", async () => {
    const counts = { ...zeroCounts(), scanned: 5, repaired: 2 };
    const { store: runs, sent } = store();
    await runs.saveCheckpoint(task!, "scan", "L", "k5", counts, false);
    await runs.saveCheckpoint(task!, "tombstone", "L", "k9", counts, true);
    expect(sent.map(({ input }) => input)).toStrictEqual([
      {
        TableName: "ledger",
        Key: { pk: "reconcile#b", sk: `task#${RUN_ID}#00000` },
        UpdateExpression: "SET #checkpoint = :checkpoint, #counts = :counts",
        ConditionExpression: "leaseId = :lease",
        ExpressionAttributeNames: { "#checkpoint": "checkpoint", "#counts": "counts" },
        ExpressionAttributeValues: { ":checkpoint": "k5", ":counts": counts, ":lease": "L" },
      },
      {
        TableName: "ledger",
        Key: { pk: "reconcile#b", sk: `run#${RUN_ID}` },
        UpdateExpression: "SET updatedAt = :now",
        ConditionExpression: "attribute_exists(#pk)",
        ExpressionAttributeNames: { "#pk": "pk" },
        ExpressionAttributeValues: { ":now": NOW.toISOString() },
      },
      {
        TableName: "ledger",
        Key: { pk: "reconcile#b", sk: `task#${RUN_ID}#00000` },
        UpdateExpression: "SET #checkpoint = :checkpoint, #counts = :counts REMOVE leaseId, leaseUntil",
        ConditionExpression: "leaseId = :lease",
        ExpressionAttributeNames: { "#checkpoint": "tombstoneCheckpoint", "#counts": "tombstoneCounts" },
        ExpressionAttributeValues: { ":checkpoint": "k9", ":counts": { repaired: 2, newerStateKept: 0, unconfirmed: 0 }, ":lease": "L" },
      },
      expect.objectContaining({ UpdateExpression: "SET updatedAt = :now" }),
    ]);
  });

  it("refuses a checkpoint whose lease another worker took, and fails on other errors", async () => {
    const lost = store([], refused);
    await expect(lost.store.saveCheckpoint(task!, "scan", "L", "k", zeroCounts(), false)).rejects.toThrow(
      new TaskLeaseError(`task 0 of run ${RUN_ID} was taken over by another worker`),
    );
    expect(lost.sent).toHaveLength(1);
    const down = store([], () => Promise.reject(new Error("down")));
    await expect(down.store.saveCheckpoint(task!, "scan", "L", "k", zeroCounts(), false)).rejects.toThrow("down");
  });

  it("completes a task and adds its counts to its run's in one transaction, under the lease and the run's phase", async () => {
    const counts = { ...zeroCounts(), repaired: 3, unconfirmed: 1 };
    const { store: runs, sent } = store();
    await runs.completeTask(task!, "tombstone", "L", counts);
    expect(sent[0]!.input).toStrictEqual({
      TransactItems: [
        {
          Update: {
            TableName: "ledger",
            Key: { pk: "reconcile#b", sk: `task#${RUN_ID}#00000` },
            UpdateExpression: "SET #done = :true, #counts = :counts REMOVE leaseId, leaseUntil",
            ConditionExpression: "leaseId = :lease AND #done = :false",
            ExpressionAttributeNames: { "#done": "tombstoneDone", "#counts": "tombstoneCounts" },
            ExpressionAttributeValues: { ":true": true, ":false": false, ":lease": "L", ":counts": { repaired: 3, newerStateKept: 0, unconfirmed: 1 } },
          },
        },
        {
          Update: {
            TableName: "ledger",
            Key: { pk: "reconcile#b", sk: `run#${RUN_ID}` },
            UpdateExpression:
              "SET #tally = #tally + :one, updatedAt = :now, #counts.#repaired = #counts.#repaired + :counts_repaired, " +
              "#counts.#newerStateKept = #counts.#newerStateKept + :counts_newerStateKept, #counts.#unconfirmed = #counts.#unconfirmed + :counts_unconfirmed",
            ConditionExpression: "#status = :status",
            ExpressionAttributeNames: {
              "#tally": "tombstoneTasksDone",
              "#status": "status",
              "#counts": "counts",
              "#repaired": "repaired",
              "#newerStateKept": "newerStateKept",
              "#unconfirmed": "unconfirmed",
            },
            ExpressionAttributeValues: {
              ":one": 1,
              ":now": NOW.toISOString(),
              ":status": "tombstoning",
              ":counts_repaired": 3,
              ":counts_newerStateKept": 0,
              ":counts_unconfirmed": 1,
            },
          },
        },
      ],
    });
    await runs.completeTask(task!, "scan", "L", counts);
    const scan = (sent[1]!.input.TransactItems as { Update: Record<string, unknown> }[])[1]!.Update;
    expect(scan.ExpressionAttributeValues).toMatchObject({ ":status": "scanning", ":counts_scanned": 0, ":counts_repaired": 3 });
    expect(scan.ExpressionAttributeNames).toMatchObject({ "#tally": "tasksDone" });
  });

  it("reads a cancelled transaction as a lost lease, and fails on other errors", async () => {
    for (const failure of [refused, cancelled]) {
      await expect(store([], failure).store.completeTask(task!, "scan", "L", zeroCounts())).rejects.toThrow(
        new TaskLeaseError(`task 0 of run ${RUN_ID} lost its lease or its run moved on before it completed`),
      );
    }
    await expect(store([], () => Promise.reject(new Error("down"))).store.completeTask(task!, "scan", "L", zeroCounts())).rejects.toThrow("down");
  });

  it("moves a run from the status its writer read only, setting the fields given", async () => {
    const answers: (() => unknown)[] = [() => ({}), () => ({}), refused, () => Promise.reject(new Error("down"))];
    const { store: runs, sent } = store([], () => answers.shift()!());
    expect(await runs.transition(run, "tombstoning", { tombstoneTasksTotal: 2, reason: "r" })).toBe(true);
    expect(sent[0]!.input).toStrictEqual({
      TableName: "ledger",
      Key: { pk: "reconcile#b", sk: `run#${RUN_ID}` },
      UpdateExpression: "SET #status = :to, updatedAt = :now, #tombstoneTasksTotal = :tombstoneTasksTotal, #reason = :reason",
      ConditionExpression: "#status = :from",
      ExpressionAttributeNames: { "#status": "status", "#tombstoneTasksTotal": "tombstoneTasksTotal", "#reason": "reason" },
      ExpressionAttributeValues: { ":to": "tombstoning", ":from": "scanning", ":now": NOW.toISOString(), ":tombstoneTasksTotal": 2, ":reason": "r" },
    });
    expect(await runs.transition(run, "failed")).toBe(true);
    expect(sent[1]!.input).toMatchObject({ UpdateExpression: "SET #status = :to, updatedAt = :now", ExpressionAttributeNames: { "#status": "status" } });
    expect(await runs.transition(run, "failed")).toBe(false);
    await expect(runs.transition(run, "failed")).rejects.toThrow("down");
  });

  it("marks tombstones queued, unconditionally", async () => {
    const { store: runs, sent } = store();
    await runs.markTombstonesQueued(run);
    expect(sent[0]!.input).toStrictEqual({
      TableName: "ledger",
      Key: { pk: "reconcile#b", sk: `run#${RUN_ID}` },
      UpdateExpression: "SET tombstonesQueued = :true",
      ExpressionAttributeValues: { ":true": true },
    });
  });

  it("keeps drift samples and orphans in partitions of their own, expiring with the run", async () => {
    const drift = { key: "k", kind: "missing" } as never;
    const { store: runs, sent } = store();
    await runs.putDriftSample(task!, drift);
    await runs.putOrphan(task!, "o1");
    expect(sent.map(({ input }) => input)).toStrictEqual([
      { TableName: "ledger", Item: { pk: `reconcile#b#${RUN_ID}#drift`, sk: "k", expiresAt: EXPIRES, drift } },
      { TableName: "ledger", Item: { pk: `reconcile#b#${RUN_ID}#0`, sk: "o1", expiresAt: EXPIRES } },
    ]);
  });

  it("reads a run's drift sample, and a task's orphans after a key, consistently", async () => {
    const orphanPk = `reconcile#b#${RUN_ID}#0`;
    const items = [
      { pk: `reconcile#b#${RUN_ID}#drift`, sk: "a", drift: { key: "a" } },
      { pk: orphanPk, sk: "o1" },
      { pk: orphanPk, sk: "o2" },
      { pk: orphanPk, sk: "o3" },
    ];
    const { store: runs, queries, sent } = store(items);
    const drifts: unknown[] = [];
    for await (const drift of runs.driftSample("b", RUN_ID)) drifts.push(drift);
    expect(drifts).toStrictEqual([{ key: "a" }]);
    const all: string[] = [];
    for await (const key of runs.orphans(task!)) all.push(key);
    expect(all).toEqual(["o1", "o2", "o3"]);
    const after: string[] = [];
    for await (const key of runs.orphans(task!, "o1")) after.push(key);
    expect(after).toEqual(["o2", "o3"]);
    expect(queries()).toStrictEqual([
      {
        TableName: "ledger",
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "pk" },
        ExpressionAttributeValues: { ":pk": `reconcile#b#${RUN_ID}#drift` },
      },
      {
        TableName: "ledger",
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "pk" },
        ExpressionAttributeValues: { ":pk": orphanPk },
        ConsistentRead: true,
      },
      {
        TableName: "ledger",
        KeyConditionExpression: "#pk = :pk AND #sk > :after",
        ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
        ExpressionAttributeValues: { ":pk": orphanPk, ":after": "o1" },
        ConsistentRead: true,
      },
    ]);
    sent.length = 0;
    await runs.discardOrphansAfter(task!, "o1");
    expect(sent.filter(({ command }) => command === "DeleteCommand").map(({ input }) => input)).toStrictEqual(
      ["o2", "o3"].map((key) => ({ TableName: "ledger", Key: { pk: orphanPk, sk: key } })),
    );
  });
});
