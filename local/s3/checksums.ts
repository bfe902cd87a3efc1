/**
 * The integrity headers S3 checks a request body against: `Content-MD5` and the flexible
 * checksums `x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`, each the base64 of the
 * digest (big-endian for CRCs) (S3 user guide, "Checking object integrity":
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { crc32 } from "node:zlib";
import { S3Error } from "./errors.js";

function reflectedTable32(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32C_TABLE = reflectedTable32(0x82f63b78);

export function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC64NVME_TABLE = (() => {
  const table: bigint[] = [];
  for (let n = 0n; n < 256n; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1n ? (c >> 1n) ^ 0x9a6c9329ac4bc9b5n : c >> 1n;
    table.push(c);
  }
  return table;
})();

export function crc64nvme(data: Buffer): bigint {
  const mask = 0xffffffffffffffffn;
  let crc = mask;
  for (const byte of data) crc = CRC64NVME_TABLE[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n);
  return crc ^ mask;
}

const uint32 = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};

/** Each algorithm's digest of a body, as its header carries it. */
export const CHECKSUMS: Record<string, { name: string; digest: (body: Buffer) => Buffer }> = {
  crc32: { name: "CRC32", digest: (body) => uint32(crc32(body)) },
  crc32c: { name: "CRC32C", digest: (body) => uint32(crc32c(body)) },
  crc64nvme: {
    name: "CRC64NVME",
    digest: (body) => {
      const out = Buffer.alloc(8);
      out.writeBigUInt64BE(crc64nvme(body));
      return out;
    },
  },
  sha1: { name: "SHA1", digest: (body) => createHash("sha1").update(body).digest() },
  sha256: { name: "SHA256", digest: (body) => createHash("sha256").update(body).digest() },
};

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * Checks every integrity header the request carries against `body`: BadDigest on a mismatch,
 * InvalidDigest for a Content-MD5 that is not one. With `required`, a request carrying none is
 * refused as S3 refuses it (InvalidRequest, "Missing required header for this request: Content-MD5").
 */
export function verifyBodyIntegrity(headers: IncomingHttpHeaders, body: Buffer, options: { required: boolean }): void {
  let checked = 0;
  const md5 = single(headers["content-md5"]);
  if (md5 !== undefined) {
    if (Buffer.from(md5, "base64").length !== 16) throw new S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
    if (createHash("md5").update(body).digest("base64") !== md5)
      throw new S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    checked++;
  }
  for (const [algorithm, { name, digest }] of Object.entries(CHECKSUMS)) {
    const value = single(headers[`x-amz-checksum-${algorithm}`]);
    if (value === undefined) continue;
    if (digest(body).toString("base64") !== value) throw new S3Error(400, "BadDigest", `The ${name} you specified did not match the calculated checksum.`);
    checked++;
  }
  if (options.required && checked === 0) throw new S3Error(400, "InvalidRequest", "Missing required header for this request: Content-MD5");
}
