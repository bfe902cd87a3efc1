/**
 * The local S3's version vocabulary: version ids (URL-safe, newest first, refused when malformed),
 * the clock that orders versions, and the XML of PutBucketVersioning and versioned DeleteObjects.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { assertVersionId, isVersionId, newVersionId, NULL_VERSION, sequenceOfVersionId, VersionClock } from "../../local/s3/versions.js";
import { parseDelete, parseVersioningConfiguration } from "../../local/s3/xml.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("version ids", () => {
  it("are 30 URL-safe characters that carry their sequence", () => {
    for (const sequence of [0, 1, 1_733_000_000_000_000, Number.MAX_SAFE_INTEGER - 1]) {
      const id = newVersionId(sequence);
      expect(id).toMatch(/^[0-9a-f]{14}[A-Za-z0-9_-]{16}$/);
      expect(encodeURIComponent(id)).toBe(id);
      expect(sequenceOfVersionId(id)).toBe(sequence);
    }
  });

  it("sort newer first as strings, and two of one sequence still differ", () => {
    const older = newVersionId(1_733_000_000_000_000);
    const newer = newVersionId(1_733_000_000_000_001);
    expect(newer < older).toBe(true);
    expect(newVersionId(5)).not.toBe(newVersionId(5));
    expect(newVersionId(5).slice(0, 14)).toBe(newVersionId(5).slice(0, 14));
  });

  it("refuse a sequence that is not a safe non-negative integer", () => {
    for (const sequence of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) expect(() => newVersionId(sequence), String(sequence)).toThrow(RangeError);
  });

  it("name no sequence for null or anything this store never made", () => {
    expect(sequenceOfVersionId(NULL_VERSION)).toBeUndefined();
    expect(sequenceOfVersionId("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")).toBeUndefined();
  });

  it("accept null and their own form only: no slash, dot segment, other length or empty string gets through", () => {
    expect(isVersionId("null")).toBe(true);
    expect(isVersionId(newVersionId(7))).toBe(true);
    const valid = newVersionId(7);
    for (const text of [
      "",
      "NULL",
      "..",
      "../../etc/passwd",
      `${valid.slice(0, 29)}/`,
      `${valid}x`,
      valid.slice(1),
      `${valid.slice(0, 14).toUpperCase()}${valid.slice(14)}`,
      `${valid.slice(0, 29)}.`,
    ])
      expect(isVersionId(text), text).toBe(false);
  });

  it("are refused with S3's 400 InvalidArgument, naming the parameter", () => {
    expect(assertVersionId("null")).toBe("null");
    expect(() => assertVersionId("../x", "version-id-marker")).toThrow(
      expect.objectContaining({
        statusCode: 400,
        code: "InvalidArgument",
        message: "Invalid version id specified",
        details: { ArgumentName: "version-id-marker", ArgumentValue: "../x" },
      }),
    );
    expect(() => assertVersionId("a/b")).toThrow(expect.objectContaining({ details: expect.objectContaining({ ArgumentName: "versionId" }) }));
  });
});

describe("the version clock", () => {
  it("follows the wall clock in microsecond steps and never repeats or goes back", () => {
    vi.useFakeTimers({ now: 1_000 });
    const clock = new VersionClock();
    expect(clock.next()).toBe(1_000_000);
    expect(clock.next()).toBe(1_000_001);
    vi.setSystemTime(900);
    expect(clock.next()).toBe(1_000_002);
    vi.setSystemTime(2_000);
    expect(clock.next()).toBe(2_000_000);
  });

  it("starts above the newest version a store already holds", () => {
    vi.useFakeTimers({ now: 1_000 });
    const clock = new VersionClock();
    clock.observe(5_000_000);
    clock.observe(4_000_000);
    expect(clock.next()).toBe(5_000_001);
  });
});

describe("PutBucketVersioning's XML", () => {
  it("reads Enabled and Suspended, with or without MfaDelete", () => {
    expect(parseVersioningConfiguration("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")).toEqual({ status: "Enabled" });
    expect(
      parseVersioningConfiguration(
        `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status> Suspended </Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`,
      ),
    ).toEqual({ status: "Suspended", mfaDelete: "Disabled" });
    expect(parseVersioningConfiguration("<VersioningConfiguration/>")).toEqual({});
  });

  it("refuses other states, another root and broken XML as MalformedXML", () => {
    for (const body of [
      "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
      "<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
      "<VersioningConfiguration><MfaDelete>Maybe</MfaDelete></VersioningConfiguration>",
      "<Other><Status>Enabled</Status></Other>",
      "<VersioningConfiguration><Status>",
    ])
      expect(() => parseVersioningConfiguration(body), body).toThrow(expect.objectContaining({ statusCode: 400, code: "MalformedXML" }));
  });
});

describe("DeleteObjects' XML", () => {
  it("reads each object's version id when there is one", () => {
    expect(parseDelete("<Delete><Quiet>true</Quiet><Object><Key>a</Key><VersionId>null</VersionId></Object><Object><Key>b</Key></Object></Delete>")).toEqual({
      objects: [{ key: "a", versionId: "null" }, { key: "b" }],
      quiet: true,
    });
  });
});
