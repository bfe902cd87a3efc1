/**
 * Row ingestion in the local stack, as the deployed stack has it: each rule's table (made from
 * the same definition the component uses), the FIFO ingestion queue with its DLQ, and the
 * ingestion function (ingest/wiring.ts) driven by a local event source mapping with its own
 * role's clients.
 */
import { CreateTableCommand, waitUntilTableExists, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { createDocumentClient } from "../ledger/index.js";
import type { IngestOutcome } from "../ingest/ingester.js";
import { createdTableName, createRowTableInput } from "../ingest/row-table.js";
import { SqsIngestQueue, type IngestQueue } from "../ingest/ingest-queue.js";
import type { IngestionStore } from "../ingest/ingestion-store.js";
import type { Ingester } from "../ingest/ingester.js";
import { resolveIngestRules, type IngestRule, type IngestRuleInput } from "../ingest/rules.js";
import { buildIngestion } from "../ingest/wiring.js";
import { declareResource, queueName } from "./call-recorder.js";
import type { LocalClients } from "./clients.js";
import { LOCAL_REGION } from "./credentials.js";
import { SqsEventSourceMapping } from "./event-source-mapping.js";
import { createQueueWithDlq, queueDepth } from "./queues.js";

export const LOCAL_INGEST_QUEUE = "bucket-ledger-ingest";

export interface LocalIngestionOptions {
  clients: LocalClients;
  /** The ingestion function's own clients. */
  role: LocalClients;
  tableName: string;
  retentionDays: number;
  buckets: string[];
  rules: IngestRuleInput[];
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  /** A Lambda invocation's length, and how long before its end a file is checkpointed. */
  invocationMs?: number;
  stopMarginMs?: number;
  writeConcurrency?: number;
  /** The copy's multipart part size (at least S3's 5 MiB minimum). */
  copyPartBytes?: number;
  logLevel: LogLevel;
  onOutcome?: (outcome: IngestOutcome) => void;
  onError?: (error: unknown) => void;
}

/** Rules as the deployed function receives them: each names its table (here, the one `dev` makes). */
export function bindLocalTables(rules: IngestRule[]): IngestRule[] {
  return rules.map((rule) => ({ ...rule, table: rule.table ?? createdTableName(rule) }));
}

async function createRowTable(dynamodb: DynamoDBClient, rule: IngestRule): Promise<void> {
  try {
    await dynamodb.send(new CreateTableCommand(createRowTableInput(rule, rule.table!)));
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: rule.table! });
  } catch (error) {
    // Kept in a data directory, or named as an existing table the user made.
    if ((error as Error).name !== "ResourceInUseException") throw error;
  }
}

export class LocalIngestion {
  private constructor(
    readonly rules: IngestRule[],
    readonly queueUrl: string,
    readonly deadLetterQueueUrl: string,
    readonly ingester: Ingester,
    readonly store: IngestionStore,
    private readonly mapping: SqsEventSourceMapping,
    private readonly sqs: LocalClients["sqs"],
  ) {}

  static async start(options: LocalIngestionOptions): Promise<LocalIngestion> {
    const rules = bindLocalTables(resolveIngestRules(options.rules, options.buckets));
    const { queueUrl, queueArn, dlqUrl } = await createQueueWithDlq(
      options.clients.sqs,
      LOCAL_INGEST_QUEUE,
      options.visibilityTimeoutSeconds,
      options.maxReceiveCount,
      {
        fifo: true,
      },
    );
    declareResource("queue", queueName(queueUrl), "ingestQueue");
    declareResource("queue", queueName(dlqUrl), "ingestDeadLetterQueue");
    for (const rule of rules) {
      declareResource("table", rule.table!, "rowTable");
      await createRowTable(options.clients.dynamodb, rule);
    }
    const ingestion = buildIngestion({
      clients: { s3: options.role.s3, sqs: options.role.sqs, documentClient: createDocumentClient(options.role.dynamodb) },
      tableName: options.tableName,
      retentionDays: options.retentionDays,
      queueUrl,
      rules,
      ...(options.writeConcurrency !== undefined && { writeConcurrency: options.writeConcurrency }),
      ...(options.copyPartBytes !== undefined && { copyPartBytes: options.copyPartBytes }),
      ...(options.stopMarginMs !== undefined && { stopMarginMs: options.stopMarginMs }),
      invocationMs: options.invocationMs ?? 900_000,
      logger: new Logger({ serviceName: "bucket-ledger-ingest", logLevel: options.logLevel }),
      ...(options.onOutcome && { onOutcome: options.onOutcome }),
    });
    // FIFO: Lambda takes at most 10 messages per batch from a FIFO queue.
    const mapping = new SqsEventSourceMapping({
      sqs: options.role.sqs,
      queueUrl,
      queueArn,
      region: LOCAL_REGION,
      handler: ingestion.handler,
      batchSize: 10,
      concurrency: 2,
      ...(options.onError && { onError: options.onError }),
    });
    mapping.start();
    return new LocalIngestion(rules, queueUrl, dlqUrl, ingestion.ingester, ingestion.store, mapping, options.clients.sqs);
  }

  /** The queue as another function (the tracker, reconciliation) sends to it, with that function's clients. */
  queueFor(role: LocalClients): IngestQueue {
    return new SqsIngestQueue(role.sqs, this.queueUrl);
  }

  async idle(): Promise<boolean> {
    const depth = await queueDepth(this.sqs, this.queueUrl);
    return depth.visible + depth.inFlight + depth.delayed === 0 && !this.mapping.active;
  }

  stop(): Promise<void> {
    return this.mapping.stop();
  }
}
