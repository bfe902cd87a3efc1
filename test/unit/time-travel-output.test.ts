import { describe, expect, it } from "vitest";
import { diffLine } from "../../cli/commands/diff.js";
import { versionText } from "../../cli/commands/time-travel.js";

const version = (etag: string, size: number, extra: { versionId?: string; reconstructed?: boolean } = {}) => ({
  size,
  etag,
  lastModified: "2026-12-01T00:00:00.000Z",
  since: "2026-12-01T00:00:00.000Z",
  reconstructed: false,
  ...extra,
});

describe("time travel on a terminal", () => {
  it("a version: size, ETag, version id when kept, and a repair marked", () => {
    expect(versionText(version("e1", 2048))).toBe("2.0 KiB e1");
    expect(versionText(version("e1", 1, { versionId: "v\x1b1", reconstructed: true }))).toBe("1 B e1 version v\\e1 (from a repair)");
  });

  it("+ created, - deleted (with its delete marker), ~ changed from -> to, the key escaped", () => {
    expect(diffLine({ key: "new\n.txt", change: "created", to: version("a", 1), changes: 1 })).toBe("+ new\\n.txt  1 B a");
    expect(diffLine({ key: "gone", change: "deleted", from: version("b", 2), changes: 2 })).toBe("- gone  was 2 B b");
    expect(diffLine({ key: "gone", change: "deleted", from: version("b", 2), deletion: { since: "x", deleteMarker: "dm1" }, changes: 1 })).toBe(
      "- gone  was 2 B b (delete marker dm1)",
    );
    expect(diffLine({ key: "\x1b[31mred", change: "changed", from: version("c1", 1), to: version("c2", 3, { versionId: "v2" }), changes: 3 })).toBe(
      "~ \\e[31mred  1 B c1 -> 3 B c2 version v2",
    );
  });
});
