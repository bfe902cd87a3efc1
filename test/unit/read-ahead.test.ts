import { describe, expect, it } from "vitest";
import { readAhead } from "../../foundation/read-ahead.js";

async function* slow(items: number[], log: string[], failAt?: number) {
  for (const item of items) {
    await new Promise((r) => setTimeout(r, 1));
    if (item === failAt) throw new Error(`failed at ${item}`);
    log.push(`produced ${item}`);
    yield item;
  }
}

describe("readAhead", () => {
  it("yields every item in order", async () => {
    const out: number[] = [];
    for await (const item of readAhead(slow([1, 2, 3, 4, 5], []), 2)) out.push(item);
    expect(out).toEqual([1, 2, 3, 4, 5]);
  });

  it("produces ahead of the consumer, but never more than the limit", async () => {
    const log: string[] = [];
    const reader = readAhead(slow([1, 2, 3, 4, 5, 6], log), 2);
    await reader.next();
    await new Promise((r) => setTimeout(r, 30));
    // One taken, two buffered: the producer stopped at 3 of 6.
    expect(log).toEqual(["produced 1", "produced 2", "produced 3"]);
    await reader.return(undefined);
  });

  it("passes the source's error to the consumer", async () => {
    const out: number[] = [];
    await expect(async () => {
      for await (const item of readAhead(slow([1, 2, 3], [], 3), 10)) out.push(item);
    }).rejects.toThrow("failed at 3");
    expect(out).toEqual([1, 2]);
  });
});
