/** The tracker Lambda's environment, validated once at cold start. */
import { z } from "zod";

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

const trackerEnvironmentSchema = z.object({
  TABLE_NAME: z.string().min(3, "TABLE_NAME must name the ledger table"),
  RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
});

export type TrackerEnvironment = z.infer<typeof trackerEnvironmentSchema>;

export function parseTrackerEnvironment(env: NodeJS.ProcessEnv): TrackerEnvironment {
  const parsed = trackerEnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new ConfigurationError(`invalid tracker environment: ${problems}`);
  }
  return parsed.data;
}
