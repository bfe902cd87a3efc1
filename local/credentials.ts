/**
 * Emulators accept any credentials; fixed ones keep local runs off the user's real profile.
 * DynamoDB Local 3.x rejects access keys with anything but letters and digits.
 */
export const LOCAL_REGION = "us-east-1";
export const localCredentials = { accessKeyId: "bucketledgerlocal", secretAccessKey: "bucketledgerlocal" };
