/**
 * A ledger table in memory for unit tests of the read paths: answers GetCommand and the Query
 * shapes the ledger sends (a partition, optionally `begins_with` on the sort key and the
 * `#deleted = :false` filter; the change index by day partition and `#token > :after`), pages by
 * `Limit` with a LastEvaluatedKey, and records every request it was sent (as JSON: the paginator's
 * undefined fields left out). Not an emulator: it
 * reads the expression values the ledger's own shapes name, and the tests assert the exact
 * expressions separately.
 */
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { compareUtf8 } from "../../foundation/utf8-order.js";

export type Item = Record<string, unknown>;

export interface Sent {
  command: string;
  input: Record<string, unknown>;
}

export function fakeLedgerTable(items: Item[], options: { onSend?: (sent: Sent) => unknown } = {}) {
  const sent: Sent[] = [];
  const client = Object.assign(Object.create(DynamoDBDocumentClient.prototype) as object, {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const record = { command: command.constructor.name, input: JSON.parse(JSON.stringify(command.input)) as Record<string, unknown> };
      sent.push(record);
      const scripted = options.onSend?.(record);
      if (scripted !== undefined) return scripted;
      if (record.command === "GetCommand") {
        const key = record.input.Key as Item;
        return { Item: items.find((item) => item.pk === key.pk && item.sk === key.sk) };
      }
      if (record.command === "QueryCommand") return query(items, record.input);
      return {};
    },
  }) as DynamoDBDocumentClient;
  return { client, sent, queries: () => sent.filter(({ command }) => command === "QueryCommand").map(({ input }) => input) };
}

function query(items: Item[], input: Record<string, unknown>) {
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const onIndex = input.IndexName !== undefined;
  const partitionName = onIndex ? "changeDay" : "pk";
  const sortName = onIndex ? "changeToken" : "sk";
  const partition = onIndex ? values[":day"] : values[":pk"];
  const compare = onIndex ? (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0) : compareUtf8;
  let matched = items
    .filter((item) => item[partitionName] === partition)
    .filter((item) => values[":prefix"] === undefined || String(item[sortName]).startsWith(String(values[":prefix"])))
    .filter((item) => values[":after"] === undefined || String(item[sortName]) > String(values[":after"]))
    .sort((a, b) => compare(String(a[sortName]), String(b[sortName])));
  if (input.ScanIndexForward === false) matched = matched.reverse();
  const start = input.ExclusiveStartKey as Item | undefined;
  if (start) matched = matched.filter((item) => compare(String(item[sortName]), String(start[sortName])) * (input.ScanIndexForward === false ? -1 : 1) > 0);
  const limit = input.Limit as number | undefined;
  const page = limit === undefined ? matched : matched.slice(0, limit);
  const more = page.length < matched.length;
  const last = page.at(-1);
  const filtered = page.filter((item) => values[":false"] === undefined || item.deleted === false);
  return {
    Items: filtered,
    ...(more && last && { LastEvaluatedKey: { pk: last.pk, sk: last.sk, ...(onIndex && { changeDay: last.changeDay, changeToken: last.changeToken }) } }),
  };
}
