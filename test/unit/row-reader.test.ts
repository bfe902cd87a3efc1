/**
 * The CSV header as the file's schema (ingest/row-reader.ts): names checked in linear time, their
 * number capped, and every parser error a file format error that quotes nothing of the file.
 */
import { describe, expect, it } from "vitest";
import { FileFormatError } from "../../ingest/errors.js";
import { MAX_COLUMNS, readRows, type RowEvent } from "../../ingest/row-reader.js";

async function read(text: string): Promise<RowEvent[]> {
  const events: RowEvent[] = [];
  const body = (async function* () {
    yield Buffer.from(text);
  })();
  for await (const event of readRows(body, { format: "csv", delimiter: "," }, { offset: 0, line: 1 })) events.push(event);
  return events;
}

describe("a CSV header", () => {
  it("of many columns is checked in linear time, and past the cap fails the file", async () => {
    const names = (count: number) => Array.from({ length: count }, (_, i) => i.toString(36)).join(",");
    const started = Date.now();
    await expect(read(`${names(MAX_COLUMNS)}\n`)).resolves.toHaveLength(1);
    // A quadratic check took 60 s of CPU at 262,143 columns.
    await expect(read(`${names(200_000)}\n`)).rejects.toThrow(new FileFormatError(1, `the header names 200000 columns; at most ${MAX_COLUMNS} are read`));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("with an empty or repeated name fails the file", async () => {
    await expect(read("a,,b\n1,2,3\n")).rejects.toThrow(new FileFormatError(1, "the header's column 2 has no name"));
    await expect(read("a,b,\n1,2,3\n")).rejects.toThrow(new FileFormatError(1, "the header's column 3 has no name"));
    await expect(read("a,b,a\n")).rejects.toThrow(new FileFormatError(1, 'the header names column "a" twice'));
  });
});

describe("a CSV parser error", () => {
  it("is a file format error at its line, whatever csv-parse's code, and quotes nothing of the row", async () => {
    const failure = await read('a,b\n1,2\n3,27" SECRET\n').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FileFormatError);
    expect(failure).toMatchObject({ line: 3 });
    expect((failure as Error).message).not.toMatch(/27|SECRET/);
  });
});
