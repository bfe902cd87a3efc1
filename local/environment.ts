/** The environment that points the AWS SDK, the AWS CLI and this project's CLI at a local stack. */
import { localCredentials } from "./credentials.js";
import type { LocalStackInfo } from "./dev-file.js";

export function localEnvironment(info: LocalStackInfo): Record<string, string> {
  return {
    AWS_REGION: info.region,
    AWS_ENDPOINT_URL_S3: info.endpoints.s3,
    AWS_ENDPOINT_URL_SQS: info.endpoints.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: info.endpoints.dynamodb,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    BUCKET_LEDGER_TABLE: info.tableName,
  };
}
