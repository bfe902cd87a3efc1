import { describe, expect, it } from "vitest";
import { S3KeyEncodingError } from "../../aws/s3-key.js";
import { decodeS3Key, encodeS3Key } from "../../aws/s3-key.js";

describe("S3 event key decoding", () => {
  it("decodes a space sent as + and a literal + sent as %2B", () => {
    expect(decodeS3Key("red+flower.jpg")).toBe("red flower.jpg");
    expect(decodeS3Key("1%2B1%3D2.txt")).toBe("1+1=2.txt");
    expect(decodeS3Key("a+%2B+b")).toBe("a + b");
  });

  it("decodes unicode, including astral characters", () => {
    expect(decodeS3Key("caf%C3%A9/%E6%97%A5%E6%9C%AC.txt")).toBe("café/日本.txt");
    expect(decodeS3Key("emoji/%F0%9F%98%80")).toBe("emoji/😀");
  });

  it("round-trips every kind of key through S3's encoding, 1,024-byte keys included", () => {
    const keys = ["a b", "1+1", "100%", "q?x=1&y=2#f", "日本語/ファイル", "😀 🚀", "dir/sub dir/file", "é".repeat(512), "k".repeat(1024)];
    for (const key of keys) expect(decodeS3Key(encodeS3Key(key))).toBe(key);
  });

  it("encodes as S3 does: + for space, slashes readable", () => {
    expect(encodeS3Key("my folder/1+1.txt")).toBe("my+folder/1%2B1.txt");
  });

  it("rejects broken percent-encoding with a typed error", () => {
    expect(() => decodeS3Key("bad%E0%A4%A")).toThrow(S3KeyEncodingError);
  });
});
