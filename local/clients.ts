/** SDK clients pointed at a local stack's endpoints, with the local credentials. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { recordCalls, type FunctionRole } from "./call-recorder.js";
import { localCredentials, LOCAL_REGION } from "./credentials.js";

export interface LocalClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
}

/**
 * Clients for the local endpoints. With a `role`, they stand for that function's Lambda role:
 * what they call is recorded for the IAM contract test.
 */
export function createLocalClients(endpoints: { s3: string; sqs: string; dynamodb: string }, region: string = LOCAL_REGION, role?: FunctionRole): LocalClients {
  const common = { region, credentials: localCredentials };
  const asRole = <Client extends Parameters<typeof recordCalls>[0]>(client: Client) => (role ? recordCalls(client, role) : client);
  return {
    s3: asRole(withoutSdkLogger(new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true }))),
    sqs: asRole(withoutSdkLogger(new SQSClient({ ...common, endpoint: endpoints.sqs }))),
    dynamodb: asRole(withoutSdkLogger(new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb }))),
  };
}
