/** SDK clients pointed at a local stack's endpoints, with the local credentials. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { localCredentials, LOCAL_REGION } from "./credentials.js";

export interface LocalClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
}

export function createLocalClients(endpoints: { s3: string; sqs: string; dynamodb: string }, region: string = LOCAL_REGION): LocalClients {
  const common = { region, credentials: localCredentials };
  return {
    s3: withoutSdkLogger(new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true })),
    sqs: withoutSdkLogger(new SQSClient({ ...common, endpoint: endpoints.sqs })),
    dynamodb: withoutSdkLogger(new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb })),
  };
}
