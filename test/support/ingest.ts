/**
 * A rule, its target table in DynamoDB Local, a bucket in the S3 emulator and an Ingester, for
 * one test. `upload` puts an object and applies its event to the ledger, as the tracker would.
 */
import { randomUUID } from "node:crypto";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from "@aws-sdk/client-s3";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Ledger } from "../../ledger/index.js";
import type { TimeBudget } from "../../foundation/time-budget.js";
import { Ingester, type IngesterDependencies } from "../../ingest/ingester.js";
import { IngestionStore } from "../../ingest/ingestion-store.js";
import { ingestVersionOf } from "../../ingest/request.js";
import { createRowTableInput } from "../../ingest/row-table.js";
import { resolveIngestRules, type IngestRule, type IngestRuleInput } from "../../ingest/rules.js";

export const NO_DEADLINE: TimeBudget = { remainingMs: () => Number.MAX_SAFE_INTEGER };

let sequence = 0;
/** Increasing sequencers, as S3 gives each key's events. */
export const nextSequencer = () => (++sequence).toString(16).toUpperCase().padStart(16, "0");

export interface IngestFixture {
  bucket: string;
  rule: IngestRule;
  rules: IngestRule[];
  store: IngestionStore;
  ingester: Ingester;
  /** `put`: more of the PutObject request (its encryption, say). */
  upload(key: string, body: string | Buffer, put?: Partial<PutObjectCommandInput>): Promise<string>;
  remove(key: string): Promise<void>;
  ingest(key: string, options?: { version?: string; budget?: TimeBudget; again?: boolean }): ReturnType<Ingester["run"]>;
  rows(table?: string): Promise<Record<string, unknown>[]>;
}

export async function ingestFixture(options: {
  s3: S3Client;
  documentClient: DynamoDBDocumentClient;
  ledger: Ledger;
  rules: (bucket: string) => Omit<IngestRuleInput, "bucket">[];
  /** A client for the target tables other than `documentClient` (e.g. through a fault proxy). */
  rowClient?: DynamoDBDocumentClient;
  ingester?: Partial<IngesterDependencies>;
}): Promise<IngestFixture> {
  const { s3, documentClient, ledger } = options;
  const bucket = `rows-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const rules = resolveIngestRules(options.rules(bucket).map((rule) => ({ table: `rows-${rule.name}-${randomUUID().slice(0, 8)}`, ...rule, bucket })));
  for (const rule of rules) await documentClient.send(new CreateTableCommand(createRowTableInput(rule, rule.table!)));
  const store = new IngestionStore(documentClient, ledger.tableName, 86_400);
  const ingester = new Ingester({ s3, documentClient: options.rowClient ?? documentClient, ledger, store, rules, ...options.ingester });
  const versions = new Map<string, string>();
  return {
    bucket,
    rule: rules[0]!,
    rules,
    store,
    ingester,
    async upload(key, body, put = {}) {
      const response = await s3.send(new PutObjectCommand({ ...put, Bucket: bucket, Key: key, Body: body }));
      const etag = response.ETag!.replaceAll('"', "");
      const state = {
        size: Buffer.byteLength(body),
        etag,
        lastModified: new Date().toISOString(),
        ...(response.VersionId && { versionId: response.VersionId }),
      };
      await ledger.apply({ kind: "upsert", bucket, key, sequencer: nextSequencer(), eventTime: state.lastModified, eventName: "ObjectCreated:Put", state });
      const version = ingestVersionOf(state);
      versions.set(key, version);
      return version;
    },
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      await ledger.apply({ kind: "delete", bucket, key, sequencer: nextSequencer(), eventTime: new Date().toISOString(), eventName: "ObjectRemoved:Delete" });
    },
    ingest(key, { version, budget = NO_DEADLINE, again = false } = {}) {
      return ingester.run({ kind: "ingest", bucket, key, version: version ?? versions.get(key)!, cause: "event", again }, budget);
    },
    async rows(table = rules[0]!.table!) {
      const { Items = [] } = await documentClient.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      return Items.sort((a, b) =>
        JSON.stringify([a[rules[0]!.partitionKey], a[rules[0]!.sortKey ?? ""]]).localeCompare(
          JSON.stringify([b[rules[0]!.partitionKey], b[rules[0]!.sortKey ?? ""]]),
        ),
      );
    },
  };
}
