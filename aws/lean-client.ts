/**
 * The SDK's logger middleware copies every request and response through the operation's
 * sensitive-data filter before it calls `logger.info`, and it does so for the default no-op
 * logger too. On 1,000-item Query and ListObjectsV2 pages that walk was 13% of a
 * reconciliation's CPU. bucket-ledger logs through Powertools and never through the SDK
 * logger, so every client it builds drops the middleware.
 */
const SDK_LOGGER_MIDDLEWARE = "loggerMiddleware";

interface HasMiddlewareStack {
  middlewareStack: { remove(toRemove: string): boolean };
}

export function withoutSdkLogger<Client extends HasMiddlewareStack>(client: Client): Client {
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
