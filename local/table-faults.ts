/**
 * Chaos for the tracker's table: the tracker reaches DynamoDB Local through a fault-injecting
 * proxy, which can cut it off for a while (an outage past the SDK's retries) or answer with
 * DynamoDB's throttling error (`proxy.failWhen`).
 */
import { FaultInjectingProxy } from "./fault-proxy.js";

export class TableFaults {
  private outageTimer?: NodeJS.Timeout;

  private constructor(readonly proxy: FaultInjectingProxy) {}

  static async start(dynamoDbEndpoint: string): Promise<TableFaults> {
    return new TableFaults(await FaultInjectingProxy.start(dynamoDbEndpoint));
  }

  /** Where the tracker sends its DynamoDB requests. */
  get endpoint(): string {
    return this.proxy.endpoint;
  }

  /** Makes the table unreachable for the tracker for `durationMs`; a new outage replaces the last. */
  startOutage(durationMs: number): void {
    clearTimeout(this.outageTimer);
    this.proxy.failWhen(() => true);
    this.outageTimer = setTimeout(() => this.proxy.failWhen(() => false), durationMs);
    this.outageTimer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.outageTimer);
    await this.proxy.stop();
  }
}
