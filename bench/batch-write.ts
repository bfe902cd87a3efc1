/** Loads benchmark tables: BatchWriteItem in groups of 25, 16 at once, until nothing is left unprocessed. */
import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";

export async function batchWrite(doc: DynamoDBDocumentClient, tableName: string, requests: Record<string, unknown>[]): Promise<void> {
  const limit = pLimit(16);
  const chunks: Record<string, unknown>[][] = [];
  for (let start = 0; start < requests.length; start += 25) chunks.push(requests.slice(start, start + 25));
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        let pending: Record<string, unknown>[] | undefined = chunk;
        while (pending && pending.length > 0) {
          const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
          pending = UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined;
        }
      }),
    ),
  );
}
