import { describe, expect, it } from "vitest";
import { MalformedMessageError } from "../../events/errors.js";
import { decodeS3EventKey, encodeS3EventKey } from "../../events/object-key.js";

describe("S3 event key decoding", () => {
  it("decodes a space sent as + and a literal + sent as %2B", () => {
    expect(decodeS3EventKey("red+flower.jpg")).toBe("red flower.jpg");
    expect(decodeS3EventKey("1%2B1%3D2.txt")).toBe("1+1=2.txt");
    expect(decodeS3EventKey("a+%2B+b")).toBe("a + b");
  });

  it("decodes unicode, including astral characters", () => {
    expect(decodeS3EventKey("caf%C3%A9/%E6%97%A5%E6%9C%AC.txt")).toBe("café/日本.txt");
    expect(decodeS3EventKey("emoji/%F0%9F%98%80")).toBe("emoji/😀");
  });

  it("round-trips every kind of key through S3's encoding, 1,024-byte keys included", () => {
    const keys = ["a b", "1+1", "100%", "q?x=1&y=2#f", "日本語/ファイル", "😀 🚀", "dir/sub dir/file", "é".repeat(512), "k".repeat(1024)];
    for (const key of keys) expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
  });

  it("encodes as S3 does: + for space, slashes readable", () => {
    expect(encodeS3EventKey("my folder/1+1.txt")).toBe("my+folder/1%2B1.txt");
  });

  it("rejects broken percent-encoding with a typed error", () => {
    expect(() => decodeS3EventKey("bad%E0%A4%A")).toThrow(MalformedMessageError);
  });
});
