/**
 * The optional query API: an API Gateway HTTP API whose GET routes invoke one Lambda
 * (api/handler.ts). Routes require IAM (SigV4) authorization unless the stack says
 * otherwise, so nothing is public by accident; the $default stage is throttled.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { apiSettings } from "../functions/settings/api.js";
import { cursorKeyItem } from "../ledger/cursor.js";
import { ledgerTable } from "../ledger/table.js";
import { BundledFunction, writeSettings } from "./bundled-function.js";
import { DEFAULT_API_RESERVED_CONCURRENCY } from "./args.js";

/** The object key is a query parameter: HTTP APIs decode the path (see api/handler.ts). */
export const QUERY_ROUTES = [
  "GET /buckets/{bucket}/objects",
  "GET /buckets/{bucket}/object",
  "GET /buckets/{bucket}/changes",
  "GET /buckets/{bucket}/history",
  "GET /buckets/{bucket}/diff",
] as const;

export { DEFAULT_API_RESERVED_CONCURRENCY } from "./args.js";

/** What `pulumi up` says of a public API: anyone with its URL reads this. */
export const PUBLIC_API_WARNING =
  "apiAuthorization is none: anyone with the query API's URL can list every tracked object's key, size, ETag, " +
  "storage class, checksum and change times, and read every key's history (which keys existed, when they changed). " +
  "Change origin (requester, source IP, request id), user metadata, tags and KMS key ARNs are withheld from its responses. " +
  "See docs/security.md.";

export interface QueryApiArgs {
  authorization: "iam" | "none";
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
  logRetentionDays: number;
  retentionDays: number;
  /**
   * Concurrent executions reserved for the API function, which also cap it (default
   * `DEFAULT_API_RESERVED_CONCURRENCY`): a flood of requests is throttled at the API instead of
   * taking the account's Lambda concurrency from the tracker. Reserving takes these from the
   * account's unreserved pool: "You can reserve up to the Unreserved account concurrency value
   * that is shown, minus 100" (Lambda developer guide, "Configuring reserved concurrency":
   * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so an account
   * whose quota is below 100 + this cannot deploy it; `none` reserves nothing (the function
   * shares the unreserved pool, uncapped).
   */
  reservedConcurrency?: number | "none";
  buckets: pulumi.Input<string>[];
  table: { name: pulumi.Input<string>; resourceArns: pulumi.Input<string>[] };
}

export class QueryApi extends pulumi.ComponentResource {
  readonly function: BundledFunction;
  readonly api: aws.apigatewayv2.Api;
  readonly routes: aws.apigatewayv2.Route[];
  readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: QueryApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:QueryApi", name, {}, opts);
    if (args.authorization === "none") pulumi.log.warn(PUBLIC_API_WARNING, this);
    const reserved = args.reservedConcurrency ?? DEFAULT_API_RESERVED_CONCURRENCY;
    this.function = new BundledFunction(
      `${name}-function`,
      {
        entry: "api",
        description: "bucket-ledger: answers the query API from the ledger",
        // API Gateway gives up on an integration after 30 s.
        timeoutSeconds: 29,
        memoryMb: 512,
        logRetentionDays: args.logRetentionDays,
        settings: writeSettings(apiSettings, {
          tableName: args.table.name,
          retentionDays: args.retentionDays,
          buckets: pulumi.all(args.buckets),
          // Only a caller IAM has let in may see who changed what (api/public-view.ts).
          servePersonalData: args.authorization === "iam",
        }),
        ...(reserved !== "none" && { reservedConcurrency: reserved }),
        statements: [{ Sid: "ReadLedger", Effect: "Allow", Action: ["dynamodb:Query", "dynamodb:GetItem"], Resource: args.table.resourceArns }],
      },
      { parent: this },
    );
    // The key the API signs its cursors with (ledger/cursor.ts), written here so the function
    // stays read-only. A new random value is offered on every run, and ignoreChanges keeps the
    // first one (https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/); as a secret it is
    // encrypted in the stack's state. It never enters the function's environment.
    new aws.dynamodb.TableItem(
      `${name}-cursor-key`,
      {
        tableName: args.table.name,
        hashKey: ledgerTable.partitionKey,
        rangeKey: ledgerTable.sortKey,
        item: pulumi.secret(JSON.stringify(cursorKeyItem())),
      },
      { parent: this, ignoreChanges: ["item"] },
    );
    this.api = new aws.apigatewayv2.Api(name, { protocolType: "HTTP", description: "bucket-ledger query API" }, { parent: this });
    const integration = new aws.apigatewayv2.Integration(
      name,
      { apiId: this.api.id, integrationType: "AWS_PROXY", integrationUri: this.function.arn, payloadFormatVersion: "2.0" },
      { parent: this },
    );
    this.routes = QUERY_ROUTES.map(
      (routeKey, index) =>
        new aws.apigatewayv2.Route(
          `${name}-route-${index}`,
          {
            apiId: this.api.id,
            routeKey,
            target: pulumi.interpolate`integrations/${integration.id}`,
            authorizationType: args.authorization === "iam" ? "AWS_IAM" : "NONE",
          },
          { parent: this },
        ),
    );
    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-access`, { retentionInDays: args.logRetentionDays }, { parent: this });
    new aws.apigatewayv2.Stage(
      name,
      {
        apiId: this.api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingRateLimit: args.throttlingRateLimit, throttlingBurstLimit: args.throttlingBurstLimit },
        accessLogSettings: {
          destinationArn: accessLogs.arn,
          format: JSON.stringify({
            requestId: "$context.requestId",
            // "The source IP address of the TCP connection making the request to API Gateway"
            // (Customize HTTP API access logs: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
            sourceIp: "$context.identity.sourceIp",
            caller: "$context.identity.caller",
            routeKey: "$context.routeKey",
            status: "$context.status",
            latencyMs: "$context.responseLatency",
          }),
        },
      },
      { parent: this, dependsOn: this.routes },
    );
    new aws.lambda.Permission(
      name,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/*`,
      },
      { parent: this },
    );
    this.endpoint = this.api.apiEndpoint;
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
