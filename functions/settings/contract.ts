/**
 * A function's settings as one contract: each setting's variable name, where it travels, its
 * schema (default included) and one line saying what it is. infra/ writes a function's settings
 * through it, the function reads them back through it, the local stack resolves them through
 * it, and scripts/reference.ts prints the reference table from it.
 *
 * Two homes for a variable: small scalars in the function's environment, and the values whose
 * size grows with the configuration (the buckets, the ingestion rules) in a JSON file shipped
 * inside the function's code archive. Lambda caps a function's environment at "4 KB, for all
 * environment variables associated with the function, in aggregate" (Lambda quotas,
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): about ten ingestion
 * rules, or a few dozen long bucket names, pass it. The code archive's limit is 50 MB zipped
 * (same page), far beyond any configuration. Where there is no file (a test, a local run), the
 * same names are read from the environment as JSON; one name in both places is refused.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { describeIssues } from "../../validation/parse.js";

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** The file infra/ writes beside the bundle (infra/bundled-function.ts) and the handlers read at cold start. */
export const PACKAGED_CONFIG_FILE = "bucket-ledger.json";

/**
 * How a value is spelt in the environment: `text` as it is (strings, enums, "auto" or a number),
 * `number`, `list` comma-separated, `flag` "true" or "false". A `packaged` value is JSON, in the
 * packaged file (or, without one, as JSON text in the environment).
 */
export type Spelling = "text" | "number" | "list" | "flag" | "packaged";

export interface Variable<Schema extends z.ZodType = z.ZodType> {
  /** Its name in the environment or the packaged file. */
  name: string;
  spelling: Spelling;
  /** The value the function gets, default included. */
  schema: Schema;
  /** What it is, one line: the reference table's (docs/reference/environment.md). */
  description: string;
}

export function variable<Schema extends z.ZodType>(name: string, spelling: Spelling, schema: Schema, description: string): Variable<Schema> {
  return { name, spelling, schema, description };
}

export type Variables = Record<string, Variable>;
type Shape<V extends Variables> = { [Key in keyof V]: V[Key]["schema"] };
type SettingsSchema<V extends Variables> = z.ZodObject<Shape<V>>;

/** The settings a function runs with, every default applied. */
export type SettingsOf<V extends Variables> = z.output<SettingsSchema<V>>;

type RequiredKeys<T> = { [Key in keyof T]-?: undefined extends T[Key] ? never : Key }[keyof T];
/** What infra/ or the local stack give: every setting without a default, and any with one. */
export type SettingsInput<V extends Variables> = Partial<SettingsOf<V>> & Pick<SettingsOf<V>, RequiredKeys<z.input<SettingsSchema<V>>> & keyof SettingsOf<V>>;

/** A rule across settings: returns the key it concerns and why, or nothing when it holds. */
export type SettingsRule<V extends Variables> = (settings: SettingsOf<V>) => { key: keyof V & string; message: string } | undefined;

/** What a function's code archive and environment carry. */
export interface WrittenSettings {
  environment: Record<string, string>;
  packaged: Record<string, unknown>;
}

/** The packaged file's values, each as JSON (not a string holding JSON). */
export type PackagedConfig = Record<string, unknown>;

export class FunctionSettings<V extends Variables> {
  readonly schema: SettingsSchema<V>;

  constructor(
    /** The function's name in messages: "invalid tracker environment: ...". */
    readonly what: string,
    readonly variables: V,
    private readonly rules: readonly SettingsRule<NoInfer<V>>[] = [],
  ) {
    const shape = Object.fromEntries(Object.entries(variables).map(([key, spec]) => [key, spec.schema])) as Shape<V>;
    this.schema = z.object(shape).superRefine((settings, ctx) => {
      for (const rule of this.rules) {
        const broken = rule(settings as SettingsOf<V>);
        if (broken) ctx.addIssue({ code: "custom", message: broken.message, path: [broken.key] });
      }
    }) as SettingsSchema<V>;
  }

  /** At cold start: the environment and the packaged file, to settings; a bad value fails naming its variable. */
  read(env: NodeJS.ProcessEnv, packaged: PackagedConfig = {}): SettingsOf<V> {
    const known = new Set(Object.values(this.variables).flatMap((spec) => (spec.spelling === "packaged" ? [spec.name] : [])));
    const unknown = Object.keys(packaged).filter((name) => !known.has(name));
    if (unknown.length > 0)
      throw new ConfigurationError(`invalid ${PACKAGED_CONFIG_FILE}: ${unknown.join(", ")}: not a packaged setting of the ${this.what} function`);
    const twice = Object.values(this.variables).filter(
      (spec) => spec.spelling === "packaged" && packaged[spec.name] !== undefined && env[spec.name] !== undefined,
    );
    if (twice.length > 0) {
      throw new ConfigurationError(
        `${twice.map((spec) => spec.name).join(", ")} set both in the environment and in ${PACKAGED_CONFIG_FILE}; set each in one place`,
      );
    }
    const unreadable: string[] = [];
    const values = Object.fromEntries(
      Object.entries(this.variables).map(([key, spec]) => {
        if (spec.spelling === "packaged" && packaged[spec.name] !== undefined) return [key, packaged[spec.name]];
        const text = env[spec.name];
        if (text === undefined) return [key, undefined];
        const value = unspell(spec.spelling, text);
        if (value === UNREADABLE) unreadable.push(`${spec.name}: ${spec.name} must be JSON`);
        return [key, value];
      }),
    );
    if (unreadable.length > 0) throw new ConfigurationError(`invalid ${this.what} environment: ${unreadable.join("; ")}`);
    return this.parse(values, `invalid ${this.what} environment`);
  }

  /** Typed values to settings, defaults applied (the local stack's way in; infra/'s check). */
  resolve(values: SettingsInput<V>): SettingsOf<V> {
    return this.parse(values, `invalid ${this.what} settings`);
  }

  /** infra/'s way out: the values given (no defaults added), checked, as the environment and the packaged file. */
  write(values: SettingsInput<V>): WrittenSettings {
    this.resolve(values);
    const written: WrittenSettings = { environment: {}, packaged: {} };
    for (const [key, spec] of Object.entries(this.variables)) {
      const value = (values as Record<string, unknown>)[key];
      if (value === undefined) continue;
      if (spec.spelling === "packaged") written.packaged[spec.name] = value;
      else written.environment[spec.name] = spell(spec.spelling, value);
    }
    return written;
  }

  private parse(values: unknown, what: string): SettingsOf<V> {
    const parsed = this.schema.safeParse(values);
    if (parsed.success) return parsed.data;
    // Issues name the variable, as the operator reading the function's configuration sees it.
    const named = parsed.error.issues.map((issue) => {
      const [key, ...rest] = issue.path;
      const name = typeof key === "string" ? (this.variables[key]?.name ?? key) : String(key);
      return { ...issue, path: [name, ...rest] };
    });
    throw new ConfigurationError(`${what}: ${describeIssues(new z.ZodError(named))}`);
  }
}

const UNREADABLE = Symbol("unreadable");

function unspell(spelling: Spelling, text: string): unknown {
  switch (spelling) {
    case "text":
      return text;
    case "number":
      return text === "" ? undefined : Number(text);
    case "list":
      return text.split(",").filter((item) => item !== "");
    case "flag":
      return text === "true" ? true : text === "false" ? false : text;
    case "packaged":
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return UNREADABLE;
      }
  }
}

function spell(spelling: Exclude<Spelling, "packaged">, value: unknown): string {
  return spelling === "list" ? (value as readonly string[]).join(",") : String(value);
}

/**
 * The packaged file beside a function's module (`import.meta.url` of the bundle), or nothing
 * when there is none. Read once at cold start; a file that is there but unreadable fails loudly.
 */
export function readPackagedConfig(moduleUrl: string | URL): PackagedConfig {
  let text: string;
  try {
    text = readFileSync(new URL(PACKAGED_CONFIG_FILE, moduleUrl), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`invalid ${PACKAGED_CONFIG_FILE}: not JSON`);
  }
  const parsed = z.record(z.string(), z.unknown()).safeParse(json);
  if (!parsed.success) throw new ConfigurationError(`invalid ${PACKAGED_CONFIG_FILE}: not an object`);
  return parsed.data;
}
