/**
 * The local S3's conditional writes and deletes: which condition holds against which current
 * object, the error each refusal is (status, code, the condition named), and the headers read.
 */
import { describe, expect, it } from "vitest";
import { assertWriteCondition, deleteConditionOf, writeConditionOf, type WriteCondition } from "../../local/s3/conditions.js";
import { S3Error } from "../../local/s3/errors.js";

const ETAG = '"0cc175b9c0f1b6a831c399e269772661"';

/** What `assertWriteCondition` answers: "ok", or the refusal's status, code and details. */
function outcome(current: { etag: string } | undefined, condition: WriteCondition): string {
  try {
    assertWriteCondition("the/key", current, condition);
    return "ok";
  } catch (error) {
    if (!(error instanceof S3Error)) throw error;
    return `${error.statusCode} ${error.code} ${JSON.stringify(error.details)}`;
  }
}

const REFUSED_MATCH = '412 PreconditionFailed {"Condition":"If-Match"}';
const REFUSED_NONE_MATCH = '412 PreconditionFailed {"Condition":"If-None-Match"}';
const NO_SUCH_KEY = '404 NoSuchKey {"Key":"the/key"}';

describe("assertWriteCondition", () => {
  it("without a condition, anything goes", () => {
    expect(outcome(undefined, {})).toBe("ok");
    expect(outcome({ etag: ETAG }, {})).toBe("ok");
  });

  it("If-Match: the current ETag, quoted or not, weak or in a list, holds; another is 412", () => {
    expect(outcome({ etag: ETAG }, { ifMatch: ETAG })).toBe("ok");
    expect(outcome({ etag: ETAG }, { ifMatch: "0cc175b9c0f1b6a831c399e269772661" })).toBe("ok");
    expect(outcome({ etag: ETAG }, { ifMatch: ` W/${ETAG} ` })).toBe("ok");
    expect(outcome({ etag: ETAG }, { ifMatch: `"other", ${ETAG}` })).toBe("ok");
    expect(outcome({ etag: ETAG }, { ifMatch: '"0cc175b9c0f1b6a831c399e269772662"' })).toBe(REFUSED_MATCH);
    expect(outcome({ etag: ETAG }, { ifMatch: '"other", "more"' })).toBe(REFUSED_MATCH);
    expect(outcome({ etag: ETAG }, { ifMatch: "" })).toBe(REFUSED_MATCH);
  });

  it("If-Match: * holds for any current object", () => {
    expect(outcome({ etag: ETAG }, { ifMatch: "*" })).toBe("ok");
    expect(outcome({ etag: ETAG }, { ifMatch: " * " })).toBe("ok");
  });

  it("If-Match with no current object is 404 NoSuchKey, whatever it names", () => {
    expect(outcome(undefined, { ifMatch: "*" })).toBe(NO_SUCH_KEY);
    expect(outcome(undefined, { ifMatch: ETAG })).toBe(NO_SUCH_KEY);
  });

  it("If-None-Match: * holds only where there is no current object", () => {
    expect(outcome(undefined, { ifNoneMatch: "*" })).toBe("ok");
    expect(outcome({ etag: ETAG }, { ifNoneMatch: "*" })).toBe(REFUSED_NONE_MATCH);
  });

  it("both: If-Match is evaluated first", () => {
    expect(outcome(undefined, { ifMatch: ETAG, ifNoneMatch: "*" })).toBe(NO_SUCH_KEY);
    expect(outcome({ etag: ETAG }, { ifMatch: '"other"', ifNoneMatch: "*" })).toBe(REFUSED_MATCH);
    expect(outcome({ etag: ETAG }, { ifMatch: ETAG, ifNoneMatch: "*" })).toBe(REFUSED_NONE_MATCH);
  });
});

function refusal(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    if (!(error instanceof S3Error)) throw error;
    return `${error.statusCode} ${error.code} ${JSON.stringify(error.details)}`;
  }
  throw new Error("expected a refusal");
}

describe("writeConditionOf", () => {
  it("reads If-Match as sent and If-None-Match: *, and nothing when neither is there", () => {
    expect(writeConditionOf({})).toEqual({});
    expect(writeConditionOf({ "if-match": ETAG })).toEqual({ ifMatch: ETAG });
    expect(writeConditionOf({ "if-none-match": " * " })).toEqual({ ifNoneMatch: "*" });
    expect(writeConditionOf({ "if-match": ['"a"', '"b"'], "if-none-match": "*" })).toEqual({ ifMatch: '"a","b"', ifNoneMatch: "*" });
  });

  it("refuses If-None-Match with anything but *", () => {
    expect(refusal(() => writeConditionOf({ "if-none-match": ETAG }))).toBe('501 NotImplemented {"Header":"If-None-Match"}');
    expect(refusal(() => writeConditionOf({ "if-none-match": "" }))).toBe('501 NotImplemented {"Header":"If-None-Match"}');
  });
});

describe("deleteConditionOf", () => {
  it("reads If-Match, * included", () => {
    expect(deleteConditionOf({})).toEqual({});
    expect(deleteConditionOf({ "if-match": "*" })).toEqual({ ifMatch: "*" });
    expect(deleteConditionOf({ "if-match": ETAG })).toEqual({ ifMatch: ETAG });
  });

  it("refuses the directory-bucket conditions and If-None-Match, by name", () => {
    for (const name of ["x-amz-if-match-last-modified-time", "x-amz-if-match-size", "if-none-match"])
      expect(refusal(() => deleteConditionOf({ [name]: "1", "if-match": ETAG }))).toBe(`501 NotImplemented {"Header":"${name}"}`);
  });
});
