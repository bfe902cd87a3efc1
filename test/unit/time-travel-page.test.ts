import { describe, expect, it } from "vitest";
import { takeTimeTravelPage } from "../../api/time-travel-page.js";

/** Entries for keys in order; `closed` says whether the page stopped the generator. */
function entries(keys: string[]) {
  const state = { closed: false, read: 0 };
  async function* generate() {
    try {
      for (const key of keys) {
        state.read++;
        yield { key };
      }
    } finally {
      state.closed = true;
    }
  }
  return { generator: generate(), state };
}

const cursorAfter = (key: string) => `after:${key}`;
const FUTURE = Date.now() + 60_000;

describe("a time-travel page of the HTTP API", () => {
  it("takes up to limit entries and a cursor after the last key when more remain, stopping the read", async () => {
    const { generator, state } = entries(["a", "b", "c"]);
    expect(await takeTimeTravelPage(generator, { limit: 2, deadline: FUTURE, cursorAfter })).toEqual({
      items: [{ key: "a" }, { key: "b" }],
      cursor: "after:b",
    });
    expect(state).toEqual({ closed: true, read: 3 });
  });

  it("has no cursor when the answer ends within the page, even at exactly limit entries", async () => {
    expect(await takeTimeTravelPage(entries(["a", "b"]).generator, { limit: 2, deadline: FUTURE, cursorAfter })).toEqual({
      items: [{ key: "a" }, { key: "b" }],
    });
    expect(await takeTimeTravelPage(entries([]).generator, { limit: 2, deadline: FUTURE, cursorAfter })).toEqual({ items: [] });
  });

  it("past its deadline, ends once it holds an entry, so every page moves on", async () => {
    const { generator, state } = entries(["a", "b", "c"]);
    expect(await takeTimeTravelPage(generator, { limit: 100, deadline: 0, cursorAfter })).toEqual({ items: [{ key: "a" }], cursor: "after:a" });
    expect(state.closed).toBe(true);
    expect(await takeTimeTravelPage(entries(["a"]).generator, { limit: 100, deadline: 0, cursorAfter })).toEqual({ items: [{ key: "a" }] });
  });
});
