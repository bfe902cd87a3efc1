/** CloudWatch EMF counters, published the one way every function publishes them (Powertools Metrics). */
import { MetricUnit, type Metrics } from "@aws-lambda-powertools/metrics";

export function publishCounts(metrics: Metrics, counts: Record<string, number>): void {
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.publishStoredMetrics();
}
