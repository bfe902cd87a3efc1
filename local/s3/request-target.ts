/**
 * The bucket, key and query of a path-style request, read from the request target as the client
 * sent it. No URL normalisation: S3 keeps `.` and `..` segments as part of a key (`a/./b` and
 * `a/../b` are keys of their own), so resolving them, as WHATWG `new URL()` does (`%2e%2e`
 * included), would move a request to another key or another bucket.
 */
import { S3Error } from "./errors.js";

export interface RequestTarget {
  /** The raw path, for error responses' `Resource`. */
  path: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
}

const invalidUri = () => new S3Error(400, "InvalidURI", "Couldn't parse the specified URI.");

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidUri();
  }
}

/** `/bucket/key?query` in origin form (RFC 9112 §3.2.1); anything else is not a path-style S3 request. */
export function parseRequestTarget(target: string): RequestTarget {
  if (!target.startsWith("/")) throw invalidUri();
  const mark = target.indexOf("?");
  const path = mark === -1 ? target : target.slice(0, mark);
  const slash = path.indexOf("/", 1);
  return {
    path,
    bucket: decode(slash === -1 ? path.slice(1) : path.slice(1, slash)),
    key: slash === -1 ? "" : decode(path.slice(slash + 1)),
    query: new URLSearchParams(mark === -1 ? "" : target.slice(mark + 1)),
  };
}
