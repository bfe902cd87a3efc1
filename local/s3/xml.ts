/**
 * Request bodies are read as XML with a real parser (entities and character references such
 * as Go's `&#34;`, any element order); responses are written from templates.
 */
import { XMLParser } from "fast-xml-parser";
import { S3Error } from "./errors.js";

const ALWAYS_LISTS = new Set(["Part", "Object"]);

// Values are not trimmed: an object key may begin or end with spaces.
const parser = new XMLParser({
  htmlEntities: true,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  removeNSPrefix: true,
  isArray: (name) => ALWAYS_LISTS.has(name),
});

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function parse(body: string): Record<string, unknown> {
  try {
    return parser.parse(body, true) as Record<string, unknown>;
  } catch {
    throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  }
}

/** `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...` */
export function parseCompleteMultipartUpload(body: string): { partNumber: number; etag: string }[] {
  const root = parse(body).CompleteMultipartUpload as { Part?: { PartNumber?: string; ETag?: string }[] } | undefined;
  const parts = root?.Part ?? [];
  return parts.map((part) => {
    const partNumber = Number(String(part.PartNumber).trim());
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000 || typeof part.ETag !== "string") {
      throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
    }
    return { partNumber, etag: part.ETag.trim() };
  });
}

/** `<Delete><Quiet/><Object><Key/></Object>...` */
export function parseDelete(body: string): { keys: string[]; quiet: boolean } {
  const root = parse(body).Delete as { Quiet?: string; Object?: { Key?: string }[] } | undefined;
  const objects = root?.Object ?? [];
  if (objects.length === 0 || objects.length > 1000)
    throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  return { keys: objects.map((object) => String(object.Key ?? "")), quiet: String(root?.Quiet ?? "").trim() === "true" };
}

export const xmlDocument = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
