/**
 * An in-memory S3 for unit tests: a real client (the SDK's paginators check the class) whose
 * send answers PutObject, GetObject, HeadObject and delimiter listings from a map, and refuses
 * anything else. `failures` makes a GetObject of `<bucket>/<key>` throw the error given.
 */
import { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

export function memoryS3(): { s3: S3Client; objects: Map<string, Buffer>; failures: Map<string, unknown> } {
  const objects = new Map<string, Buffer>();
  const failures = new Map<string, unknown>();
  const s3 = new S3Client({ region: "us-east-1", credentials: { accessKeyId: "unit", secretAccessKey: "unit" } });
  const send = async (command: unknown) => {
    if (command instanceof PutObjectCommand) {
      const { Bucket, Key, Body } = command.input;
      objects.set(`${Bucket}/${Key}`, Buffer.from(Body as string | Buffer));
      return {};
    }
    if (command instanceof GetObjectCommand) {
      const failure = failures.get(`${command.input.Bucket}/${command.input.Key}`);
      if (failure) throw failure;
      const data = objects.get(`${command.input.Bucket}/${command.input.Key}`);
      if (!data) throw new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } });
      return { Body: Object.assign(Readable.from([data]), { transformToString: async (encoding: BufferEncoding) => data.toString(encoding) }) };
    }
    if (command instanceof HeadObjectCommand) {
      const data = objects.get(`${command.input.Bucket}/${command.input.Key}`);
      if (!data) throw Object.assign(new Error("Not Found"), { name: "NotFound", $metadata: { httpStatusCode: 404 } });
      return { ContentLength: data.length, ETag: '"held"', LastModified: new Date(0) };
    }
    if (command instanceof ListObjectsV2Command) {
      const { Bucket, Prefix = "", Delimiter } = command.input;
      if (Delimiter !== "/") return { CommonPrefixes: [] };
      const prefixes = new Set<string>();
      for (const name of objects.keys()) {
        if (!name.startsWith(`${Bucket}/${Prefix}`)) continue;
        const rest = name.slice(`${Bucket}/${Prefix}`.length);
        if (rest.includes("/")) prefixes.add(Prefix + rest.slice(0, rest.indexOf("/") + 1));
      }
      return { CommonPrefixes: [...prefixes].map((prefix) => ({ Prefix: prefix })) };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  };
  s3.send = send as unknown as S3Client["send"];
  return { s3, objects, failures };
}
