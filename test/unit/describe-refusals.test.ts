/** How a refused description is read and recorded: which HEAD errors mean "exists, will not say", and what is counted. */
import { NotFound, S3ServiceException } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { detailAttributesOf, withheldOf } from "../../s3/object-details.js";
import { describeRefusal, isNotFound } from "../../s3/object-lookup.js";

/** An error as the SDK throws it for a HEAD, which has a status and no body. */
const headError = (status: number, name = "Unknown") =>
  new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: `HEAD ${status}` });

describe("describeRefusal", () => {
  it("reads a HEAD's 400 as an SSE-C object (its key not sent) and a 403 as a refusal", () => {
    expect(describeRefusal(headError(400))).toBe("sseCustomerKey");
    expect(describeRefusal(headError(403))).toBe("denied");
  });

  it("reads a GET's AccessDenied and KMS.* codes as refusals, whatever their status", () => {
    expect(describeRefusal(headError(400, "KMS.DisabledException"))).toBe("denied");
    expect(describeRefusal(headError(500, "KMS.KMSInvalidStateException"))).toBe("denied");
    expect(describeRefusal(headError(0, "AccessDenied"))).toBe("denied");
  });

  it("leaves not-found, throttling, server errors and network failures to their own handling", () => {
    expect(describeRefusal(new NotFound({ $metadata: { httpStatusCode: 404 }, message: "NotFound" }))).toBeUndefined();
    expect(isNotFound(headError(404))).toBe(true);
    expect(describeRefusal(headError(503, "SlowDown"))).toBeUndefined();
    expect(describeRefusal(headError(500))).toBeUndefined();
    expect(describeRefusal(new Error("socket hang up"))).toBeUndefined();
    expect(describeRefusal(undefined)).toBeUndefined();
  });
});

describe("withheld details", () => {
  it("counts a description without its checksum apart from one S3 refused whole", () => {
    expect(withheldOf({ withheld: { reason: "kmsDenied", fields: ["checksum"] } })).toBe("checksum");
    expect(withheldOf({ withheld: { reason: "sseCustomerKey", fields: ["contentType", "checksum"] } })).toBe("all");
    expect(withheldOf({ withheld: { reason: "accessDenied", fields: ["contentType"] } })).toBe("all");
    expect(withheldOf({ contentType: "text/plain" })).toBeUndefined();
    expect(withheldOf(undefined)).toBeUndefined();
  });

  it("replaces the withheld marker with every description, so a full answer later clears it", () => {
    expect(detailAttributesOf(["checksum"])).toEqual(["checksum", "withheld"]);
    expect(detailAttributesOf(["contentType", "storageClass"])).toEqual(["contentType", "storageClass", "archiveStatus", "restore", "withheld"]);
    expect(detailAttributesOf([])).toEqual([]);
  });
});
