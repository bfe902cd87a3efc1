/**
 * An HTTP endpoint that refuses every AWS JSON 1.0 request (SQS and CloudWatch, as the SDK v3
 * speaks both) the way AWS refuses a caller whose policy lacks the action: for tests of what a
 * command does when an operator may read some of the stack and not the rest.
 *
 * The error's shape is SQS's documented JSON error: the `x-amzn-query-error` header carries the
 * error code and whether the sender or the receiver was at fault, the body a `__type` and a
 * message (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html),
 * with the code AccessDenied and HTTP 400 of `AccessDeniedException` in the common errors
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
 * CloudWatch answers its JSON 1.0 requests in the same form (its SDK client is awsQueryCompatible,
 * reading the code from the same header).
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface DenyingEndpoint {
  endpoint: string;
  /** Each request's `X-Amz-Target` (`AmazonSQS.GetQueueAttributes`...), in order. */
  targets: string[];
  stop(): Promise<void>;
}

/** `X-Amz-Target` service prefixes, and the IAM service each names, for the message. */
const SERVICES: Record<string, string> = { AmazonSQS: "sqs", GraniteServiceVersion20100801: "cloudwatch" };

export async function startDenyingEndpoint(): Promise<DenyingEndpoint> {
  const targets: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      targets.push(target);
      const [prefix = "", operation = ""] = target.split(".");
      const action = `${SERVICES[prefix] ?? prefix}:${operation}`;
      const body = JSON.stringify({
        __type: "com.amazon.coral.service#AccessDeniedException",
        message: `User: arn:aws:sts::123456789012:assumed-role/operator/session is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`,
      });
      response.writeHead(400, {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": randomUUID(),
        "x-amzn-query-error": "AccessDenied;Sender",
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    targets,
    stop: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
