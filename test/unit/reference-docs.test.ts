/**
 * The reference tables are generated (scripts/reference.ts) from the functions' settings
 * contracts and Pulumi.yaml: the committed copies must be what the generator prints now, so a
 * setting added, renamed or redescribed without `npm run docs:reference` fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REFERENCE_FILES } from "../../scripts/reference.js";

describe("the reference tables", () => {
  it.each(Object.entries(REFERENCE_FILES))("%s is what npm run docs:reference generates", (path, render) => {
    expect(readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")).toBe(render());
  });
});
