/**
 * Which ledger table a command reads, and how to reach it: `--table`, then the
 * BUCKET_LEDGER_TABLE environment variable, then `--local` (a running `bucket-ledger dev`).
 * With a table name the default AWS credential and endpoint chain applies
 * (AWS_ENDPOINT_URL_DYNAMODB works).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDocumentClient, Ledger } from "../ledger/index.js";
import { localCredentials } from "../local/credentials.js";
import { readDevFile } from "../local/dev-file.js";
import { UsageError } from "./errors.js";

export interface TargetOptions {
  table?: string;
  local?: boolean;
}

export async function openLedger(options: TargetOptions): Promise<Ledger> {
  if (options.local) {
    const info = await readDevFile();
    const client = new DynamoDBClient({ region: info.region, endpoint: info.endpoints.dynamodb, credentials: localCredentials });
    return new Ledger({ tableName: info.tableName, retentionDays: info.retentionDays, documentClient: createDocumentClient(client) });
  }
  const tableName = options.table ?? process.env.BUCKET_LEDGER_TABLE;
  if (!tableName) {
    throw new UsageError(
      "no ledger table given: pass --table <name> (from `pulumi stack output tableName`), set BUCKET_LEDGER_TABLE, or use --local with a running `bucket-ledger dev`",
    );
  }
  return new Ledger({ tableName, ...(process.env.BUCKET_LEDGER_RETENTION_DAYS && { retentionDays: Number(process.env.BUCKET_LEDGER_RETENTION_DAYS) }) });
}
