/**
 * Which ledger table a command reads, and how to reach it: `--table`, then the
 * BUCKET_LEDGER_TABLE environment variable, then `--local` (a running `bucket-ledger dev`).
 * With a table name the default AWS credential and endpoint chain applies
 * (AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3 work).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { createDocumentClient, Ledger } from "../ledger/index.js";
import { createLocalClients } from "../local/clients.js";
import { readDevFile } from "../local/dev-file.js";
import { UsageError } from "./errors.js";

export interface TargetOptions {
  table?: string;
  local?: boolean;
}

export interface Target {
  ledger: Ledger;
  /** Built on first use: most commands never touch S3. */
  s3(): S3Client;
  /** The local emulator does not list in S3's byte order. */
  local: boolean;
}

export async function openTarget(options: TargetOptions): Promise<Target> {
  if (options.local) {
    const info = await readDevFile();
    const clients = createLocalClients(info.endpoints, info.region);
    return {
      ledger: new Ledger({ tableName: info.tableName, retentionDays: info.retentionDays, documentClient: createDocumentClient(clients.dynamodb) }),
      s3: () => clients.s3,
      local: true,
    };
  }
  const tableName = options.table ?? process.env.BUCKET_LEDGER_TABLE;
  if (!tableName) {
    throw new UsageError(
      "no ledger table given: pass --table <name> (from `pulumi stack output tableName`), set BUCKET_LEDGER_TABLE, or use --local with a running `bucket-ledger dev`",
    );
  }
  const retentionDays = process.env.BUCKET_LEDGER_RETENTION_DAYS;
  return {
    ledger: new Ledger({ tableName, ...(retentionDays && { retentionDays: Number(retentionDays) }) }),
    s3: () => new S3Client({}),
    local: false,
  };
}

export async function openLedger(options: TargetOptions): Promise<Ledger> {
  return (await openTarget(options)).ledger;
}
