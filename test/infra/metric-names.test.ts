/**
 * An alarm or dashboard widget that names a metric nobody emits watches nothing, and stays
 * quiet. The emitted metrics are read from the EMF documents the functions' own publishing
 * code produces (Powertools Metrics as functions/*.ts build it); the watched ones from the
 * stack's alarms and dashboard under mocks, with every optional part deployed.
 */
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { Logger } from "@aws-lambda-powertools/logger";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { createIngestHandler, type IngestHandlerDependencies } from "../../ingest/handler.js";
import { Ledger } from "../../ledger/index.js";
import { metricsFor } from "../../observability/emf.js";
import { METRIC_NAMESPACE, METRICS, type MetricService } from "../../observability/metrics.js";
import { reportPlanFailure, reportRun } from "../../reconcile/handler.js";
import { createTrackerHandler, type TrackerDependencies } from "../../tracker/handler.js";
import { buildPublisher } from "../../stream/wiring.js";
import { installMocks, resolve } from "./mocks.js";

const recorded = installMocks();

/** A metric as CloudWatch files it: namespace, the `service` dimension, name. */
const identity = (namespace: unknown, service: unknown, name: unknown) => `${String(namespace)} service=${String(service)} ${String(name)}`;

interface EmfDocument {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [field: string]: unknown;
}

/** Publishes for real up to the EMF document, which is kept instead of printed. */
function recording(service: MetricService): { metrics: Metrics; emitted: Set<string> } {
  const metrics = metricsFor(service);
  const emitted = new Set<string>();
  vi.spyOn(metrics, "publishStoredMetrics").mockImplementation(() => {
    const document = metrics.serializeMetrics() as unknown as EmfDocument;
    for (const directive of document._aws.CloudWatchMetrics) {
      expect(directive.Dimensions).toEqual([["service"]]);
      for (const metric of directive.Metrics) emitted.add(identity(directive.Namespace, document.service, metric.Name));
    }
    metrics.clearMetrics();
    return metrics;
  });
  return { metrics, emitted };
}

const logger = new Logger({ logLevel: "SILENT" });

/** Every metric each function's publishing code emits, run once through each of its paths. */
async function emittedMetrics(): Promise<Record<MetricService, Set<string>>> {
  const tracker = recording("tracker");
  // An empty batch still publishes every counter (as zero); its ledger is never called.
  const ledger = new Ledger({ tableName: "unused" });
  await createTrackerHandler({ ledger, logger, metrics: tracker.metrics, concurrency: 1 } as unknown as TrackerDependencies)({ Records: [] });

  const ingest = recording("ingest");
  await createIngestHandler({ logger, metrics: ingest.metrics, stopMarginMs: 0 } as unknown as IngestHandlerDependencies)({ Records: [] });

  const reconcile = recording("reconcile");
  const summary = {
    status: "failed",
    missing: 1,
    stale: 1,
    orphaned: 1,
    repaired: 1,
    newerStateKept: 1,
    unconfirmed: 1,
    encodingMismatches: 1,
    undescribed: 1,
    checksumsWithheld: 1,
    scanned: 3,
    objectsPerSecond: 3,
    encodingMismatchSample: [],
    ingestAudit: { missing: 1, retried: 1, stuck: 1, removals: 1, givenUp: 1 },
  } as unknown as Parameters<typeof reportRun>[0];
  reportRun(summary, logger, reconcile.metrics);
  reportPlanFailure(reconcile.metrics);

  const stream = recording("stream");
  await buildPublisher({ clients: {}, settings: { publishAttempts: 1 }, logger, metrics: stream.metrics })({ Records: [] });

  return { tracker: tracker.emitted, ingest: ingest.emitted, reconcile: reconcile.emitted, stream: stream.emitted };
}

/** Every metric of the stack's own namespaces (not AWS/*) that an alarm or a dashboard widget names. */
async function watchedMetrics(): Promise<string[]> {
  recorded.length = 0;
  const ledger = new BucketLedger("ledger", {
    createBucket: { name: "imports-bucket" },
    monitoring: { alarmEmail: "oncall@example.com" },
    ingest: { rules: [{ name: "offers", bucket: "imports-bucket", pattern: "imports/*.csv", format: "csv", partitionKey: "id" }] },
  });
  await resolve(pulumi.all([ledger.outputs.tableName, ledger.outputs.dashboardUrl]));
  // Let resources whose inputs wait on those outputs finish registering.
  await new Promise((r) => setTimeout(r, 200));

  const watched: string[] = [];
  const alarms = recorded.filter((resource) => resource.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
  expect(alarms.map((alarm) => alarm.name)).toContain("ledger-monitoring-ingest-failed");
  for (const { inputs } of alarms) {
    if (String(inputs.namespace).startsWith("AWS/")) continue;
    watched.push(identity(inputs.namespace, (inputs.dimensions as Record<string, unknown> | undefined)?.service, inputs.metricName));
  }
  const dashboards = recorded.filter((resource) => resource.type === "aws:cloudwatch/dashboard:Dashboard");
  expect(dashboards).toHaveLength(1);
  const body = JSON.parse(dashboards[0]!.inputs.dashboardBody as string) as { widgets: { properties: { metrics?: unknown[][] } }[] };
  for (const widget of body.widgets) {
    for (const [namespace, name, ...dimensions] of widget.properties.metrics ?? []) {
      if (String(namespace).startsWith("AWS/")) continue;
      expect(dimensions.slice(0, 2), `${String(name)}: the dashboard selects the ledger's metrics by service`).toEqual(["service", expect.any(String)]);
      watched.push(identity(namespace, dimensions[1], name));
    }
  }
  return watched;
}

describe("the metrics the alarms and dashboard watch", () => {
  let emitted: Record<MetricService, Set<string>>;
  let watched: string[];
  beforeAll(async () => {
    emitted = await emittedMetrics();
    watched = await watchedMetrics();
  });

  it("are each emitted, in the namespace and under the service the alarm or widget names", () => {
    const all = new Set(Object.values(emitted).flatMap((names) => [...names]));
    expect(watched.length).toBeGreaterThan(10);
    for (const metric of watched) expect(all, `${metric} is watched but nobody emits it`).toContain(metric);
  });

  it("come from one list: each function emits exactly the metrics the list gives it", () => {
    for (const [service, names] of Object.entries(METRICS) as [MetricService, Record<string, string>][]) {
      expect([...emitted[service]].sort(), service).toEqual(
        Object.values(names)
          .map((name) => identity(METRIC_NAMESPACE, service, name))
          .sort(),
      );
    }
  });
});
