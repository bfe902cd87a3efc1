/** CloudWatch EMF metrics, published the one way every function publishes them (Powertools Metrics). */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRIC_NAMESPACE, type MetricName, type MetricService } from "./metrics.js";

/** A function's metrics: in the ledger's namespace, with the function as their `service` dimension. */
export function metricsFor(service: MetricService): Metrics {
  return new Metrics({ namespace: METRIC_NAMESPACE, serviceName: service });
}

/** Counters, published at once. */
export function publishCounts(metrics: Metrics, counts: Partial<Record<MetricName, number>>): void {
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.publishStoredMetrics();
}
