/**
 * The documentation is split by reader across README.md and docs/: a page moved or a heading
 * renamed breaks links silently. Every relative link must name a file of this repository and,
 * when it names a heading, a heading of that file (GitHub's anchor for it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function markdownFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith(".md") ? [path] : [];
  });
}

/** Text outside fenced code blocks, where a `](...)` is code, not a link. */
function prose(markdown: string): string {
  let fenced = false;
  return markdown
    .split("\n")
    .filter((line) => {
      if (line.startsWith("```")) fenced = !fenced;
      return !fenced && !line.startsWith("```");
    })
    .join("\n");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, "")
    .replaceAll(" ", "-");
}

function anchorsOf(path: string): Set<string> {
  const headings = prose(readFileSync(join(ROOT, path), "utf8")).matchAll(/^#{1,6} (.+)$/gm);
  return new Set([...headings].map((match) => anchorOf(match[1]!)));
}

const pages = ["README.md", ...markdownFiles("docs")];

function relativeLinks(page: string): string[] {
  const text = prose(readFileSync(join(ROOT, page), "utf8"));
  // Inline links and images; a link's text may wrap across lines.
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe("links in the documentation", () => {
  it("finds the pages", () => {
    expect(pages).toContain("docs/getting-started.md");
  });

  it.each(pages)("every relative link in %s resolves", (page) => {
    const broken: string[] = [];
    for (const target of relativeLinks(page)) {
      const [path = "", anchor] = target.split("#", 2);
      const file = path === "" ? page : relative(ROOT, join(ROOT, dirname(page), decodeURIComponent(path)));
      if (!existsSync(join(ROOT, file))) {
        broken.push(`${target}: no file ${file}`);
        continue;
      }
      if (anchor !== undefined && file.endsWith(".md") && statSync(join(ROOT, file)).isFile() && !anchorsOf(file).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${file}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
