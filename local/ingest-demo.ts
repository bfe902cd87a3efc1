/**
 * The demo's row ingestion part: the seed's example CSV mirrored into DynamoDB, then an
 * overwrite that drops a row and carries a bad one, then a delete, each shown as the table's
 * rows and the ingestion record.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../ledger/index.js";
import type { IngestionRecord } from "../ingest/ingestion-store.js";
import { errorReportKey, ROW_ATTRIBUTES, type IngestRule, type IngestRuleInput } from "../ingest/rules.js";
import { tableNameOf } from "../ingest/row-table.js";
import type { LocalStack } from "./stack.js";

export const DEMO_CSV_KEY = "imports/offers.csv";

/** The seed's example (seed 004, "Expected CSV Format"), with a price typed as a number. */
export const demoIngestRule = (bucket: string): IngestRuleInput => ({
  name: "offers",
  bucket,
  pattern: "imports/*.csv",
  format: "csv",
  partitionKey: "account",
  sortKey: "offer_id",
  types: { price: "number" },
});

const SEED_CSV = "account,offer_id,product_name,price\nacc123,offer001,Widget A,19.99\nacc456,offer002,Gadget B,29.50\nacc123,offer003,Accessory C,9.75\n";
/** offer003 dropped, offer001 repriced, one row with no offer_id, one with a price that is not a number. */
const OVERWRITE_CSV =
  "account,offer_id,product_name,price\nacc123,offer001,Widget A,17.50\nacc456,offer002,Gadget B,29.50\nacc789,,Orphan row,5\nacc999,offer009,Mystery,cheap\n";

export interface IngestDemoStep {
  step: string;
  rows: Record<string, unknown>[];
  ingestion?: IngestionRecord;
  errorReport?: string[];
}

export interface IngestDemoResult {
  steps: IngestDemoStep[];
  /** Each step left the table as the rules promise. */
  ok: boolean;
}

export async function runIngestDemo(stack: LocalStack, log: (line: string) => void): Promise<IngestDemoResult> {
  const ingestion = stack.ingestion!;
  const rule = ingestion.rules[0] as IngestRule;
  const bucket = rule.bucket;
  const s3 = stack.clients.s3;
  const documentClient = createDocumentClient(stack.clients.dynamodb);
  const rows = async () => {
    const { Items = [] } = await documentClient.send(new ScanCommand({ TableName: tableNameOf(rule), ConsistentRead: true }));
    return Items.map((item) => Object.fromEntries(Object.entries(item).filter(([name]) => !(Object.values(ROW_ATTRIBUTES) as string[]).includes(name)))).sort(
      (a, b) => `${String(a.account)}#${String(a.offer_id)}`.localeCompare(`${String(b.account)}#${String(b.offer_id)}`),
    );
  };
  const steps: IngestDemoStep[] = [];
  const show = async (step: string) => {
    await stack.waitForIdle();
    const record = await ingestion.store.get(bucket, DEMO_CSV_KEY);
    const result: IngestDemoStep = { step, rows: await rows(), ...(record && { ingestion: record }) };
    if (record?.errorReport) {
      const report = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: errorReportKey(rule, DEMO_CSV_KEY) }));
      result.errorReport = (await report.Body!.transformToString()).trim().split("\n");
    }
    steps.push(result);
    log(`\n${step}`);
    if (record)
      log(
        `  ingestion ${record.status}: ${record.rowsRead} rows read, ${record.rowsWritten} written, ${record.rowsRejected} rejected, ${record.rowsDeleted} deleted`,
      );
    for (const row of result.rows) log(`  ${JSON.stringify(row)}`);
    if (result.rows.length === 0) log("  (no rows)");
    for (const line of result.errorReport ?? []) log(`  error report: ${line}`);
  };

  log(`\nrow ingestion: s3://${bucket}/${rule.pattern} -> table ${tableNameOf(rule)} (the seed's example CSV)`);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: DEMO_CSV_KEY, Body: SEED_CSV }));
  await show(`1. upload ${DEMO_CSV_KEY}: three rows`);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: DEMO_CSV_KEY, Body: OVERWRITE_CSV }));
  await show("2. overwrite: offer003 dropped, offer001 repriced, two bad rows (no offer_id; price 'cheap')");
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: DEMO_CSV_KEY }));
  await show("3. delete the file: its rows go (onDelete: delete)");

  const [first, second, third] = steps;
  const offers = (step: IngestDemoStep | undefined) => step?.rows.map((row) => `${String(row.offer_id)}=${String(row.price)}`).join(" ");
  const ok =
    offers(first) === "offer001=19.99 offer003=9.75 offer002=29.5" &&
    offers(second) === "offer001=17.5 offer002=29.5" &&
    second?.ingestion?.status === "partial" &&
    second.errorReport?.length === 2 &&
    third?.rows.length === 0;
  return { steps, ok };
}
