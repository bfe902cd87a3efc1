/**
 * `bucket-ledger dev --ingest-rules <file>`: the same rules as the stack's `ingestRules`, from a
 * JSON or YAML file holding the list, or from a stack file (Pulumi.<stack>.yaml) itself.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { IngestRulesError } from "../ingest/errors.js";

const STACK_KEY = "bucket-ledger:ingestRules";

export async function readIngestRulesFile(path: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new IngestRulesError(`cannot read ingestion rules from ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new IngestRulesError(`${path} is not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${(error as Error).message}`);
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value) && "config" in value) {
    value = (value as { config: Record<string, unknown> }).config[STACK_KEY] ?? [];
  }
  if (!Array.isArray(value)) throw new IngestRulesError(`${path} must hold a list of ingestion rules (or be a stack file with ${STACK_KEY})`);
  return value;
}
