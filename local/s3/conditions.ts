/**
 * Conditional writes and deletes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html):
 * `If-None-Match: *` and `If-Match` on PutObject, CopyObject (the destination) and
 * CompleteMultipartUpload, `If-Match` on DeleteObject. Each is evaluated against the key's
 * current version ("Conditional delete evaluations only apply to the current version of the
 * object", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html; "The
 * HTTP If-None-Match header only applies to the current version of an object in a versioned
 * bucket", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html), a
 * current delete marker counting as no object.
 *
 * The store evaluates a condition inside the key's serialised commit, so of two conditional
 * writes the first to finish wins and the second is refused, as S3 does. S3 may also answer
 * 409 ConditionalRequestConflict to a write that raced another request; here no two commits to
 * a key overlap, so that answer never arises.
 */
import { S3Error } from "./errors.js";

export interface WriteCondition {
  /** `*` (any current object) or the ETags, quoted or not, one of which the current object must have. */
  ifMatch?: string;
  /** Only `*`: no current object. */
  ifNoneMatch?: "*";
}

const unquoted = (etag: string) => etag.trim().replace(/^W\//, "").replaceAll('"', "");

/**
 * Refuses the request unless `current` (the key's current object; undefined when there is none
 * or a delete marker is current) satisfies `condition`. If-Match first, then If-None-Match, in
 * RFC 9110's order of evaluation (https://www.rfc-editor.org/rfc/rfc9110#name-precedence-of-preconditions).
 *
 * If-Match with no current object is 404 NoSuchKey, not 412: the client is wrong about the
 * object, not its tag (PutObject IfMatch: "Uploads the object only if the ETag ... matches the
 * ETag of the object in S3", https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html;
 * the 404 for a key that is not there is what S3 answers, as the s3-tests suite's
 * test_put_object_ifmatch_nonexisted_failed records).
 */
export function assertWriteCondition(key: string, current: { etag: string } | undefined, condition: WriteCondition): void {
  if (condition.ifMatch !== undefined) {
    if (current === undefined) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.", { Key: key });
    const wanted = condition.ifMatch.trim();
    if (wanted !== "*" && !wanted.split(",").some((etag) => unquoted(etag) === unquoted(current.etag)))
      throw new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", { Condition: "If-Match" });
  }
  if (condition.ifNoneMatch !== undefined && current !== undefined)
    throw new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", { Condition: "If-None-Match" });
}

type Headers = Record<string, string | string[] | undefined>;

const single = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
};

/**
 * A write's condition from its headers. If-None-Match "Expects the '*' (asterisk) character"
 * (PutObject, CopyObject, CompleteMultipartUpload): any other value is refused rather than
 * read as something S3 does not document.
 */
export function writeConditionOf(headers: Headers): WriteCondition {
  const ifMatch = single(headers, "if-match");
  const ifNoneMatch = single(headers, "if-none-match");
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== "*")
    throw new S3Error(501, "NotImplemented", "A header you provided implies functionality that is not implemented: If-None-Match on a write takes only *", {
      Header: "If-None-Match",
    });
  return { ...(ifMatch !== undefined && { ifMatch }), ...(ifNoneMatch !== undefined && { ifNoneMatch: "*" as const }) };
}

/**
 * A delete's condition: If-Match, `*` included ("If-Match does accept a string value of an '*'
 * (asterisk) character to denote a match of any ETag", DeleteObject:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html). That reference gives
 * x-amz-if-match-last-modified-time and x-amz-if-match-size to directory buckets only, and
 * If-None-Match to no delete; the local S3's buckets are general purpose buckets, so each is
 * refused, never ignored: a precondition ignored is a delete the caller did not ask for.
 */
export function deleteConditionOf(headers: Headers): WriteCondition {
  for (const name of ["x-amz-if-match-last-modified-time", "x-amz-if-match-size", "if-none-match"]) {
    if (headers[name] !== undefined)
      throw new S3Error(
        501,
        "NotImplemented",
        `A header you provided implies functionality that is not implemented: ${name} on DeleteObject in a general purpose bucket`,
        {
          Header: name,
        },
      );
  }
  const ifMatch = single(headers, "if-match");
  return ifMatch === undefined ? {} : { ifMatch };
}
