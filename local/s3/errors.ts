/** S3's error responses: an HTTP status, a code and a message, as XML (S3 API reference, "Error responses"). */
import { escapeXml } from "./xml-text.js";

export class S3Error extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
    /** Response headers the error carries, such as `x-amz-delete-marker` on a GET of a deleted key. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "S3Error";
  }

  toXml(resource: string, requestId: string): string {
    const details = Object.entries(this.details)
      .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join("");
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${this.code}</Code><Message>${escapeXml(this.message)}</Message>${details}<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  }
}
