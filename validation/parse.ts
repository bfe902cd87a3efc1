/**
 * Untrusted input at the edges (SQS bodies, task messages, manifests, dev.json, stack outputs,
 * config lists) is read one way: JSON text through a zod schema, each failure a typed error of
 * the caller's choosing, and zod's issues described one way.
 */
import type { z } from "zod";

/** `path.to.field: message; other: message`, with `root` naming the input itself. */
export function describeIssues(error: z.ZodError, root = "(root)"): string {
  return error.issues.map((issue) => `${issue.path.join(".") || root}: ${issue.message}`).join("; ");
}

/** Why input was refused: not JSON at all, or JSON of the wrong shape (with zod's issues). */
export type ParseFailure = { reason: "json" } | { reason: "schema"; issues: string };

/** Parses `text` as JSON and then with `schema`; `fail` turns a failure into the caller's error. */
export function parseJsonWith<Schema extends z.ZodType>(schema: Schema, text: string, fail: (failure: ParseFailure) => Error): z.output<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail({ reason: "json" });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw fail({ reason: "schema", issues: describeIssues(parsed.error) });
  return parsed.data;
}
