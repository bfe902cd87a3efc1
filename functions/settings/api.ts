/** The query API function's settings: what infra/query-api.ts writes, functions/api.ts reads, and the local stack resolves. */
import { z } from "zod";
import { FunctionSettings, variable, type SettingsInput, type SettingsOf } from "./contract.js";
import { bucketsSchema, ledgerVariables } from "./shared.js";

const apiVariables = {
  ...ledgerVariables,
  buckets: variable("BUCKETS", "packaged", bucketsSchema, "the buckets it serves"),
  /** Withheld unless set: a public API serves less. */
  servePersonalData: variable(
    "SERVE_PERSONAL_DATA",
    "flag",
    z.boolean().default(false),
    "`true` (set only behind IAM): responses carry origin, user metadata, tags and KMS key ARNs (api/public-view.ts)",
  ),
};

export const apiSettings = new FunctionSettings("api", apiVariables);
export type ApiSettings = SettingsOf<typeof apiVariables>;
export type ApiSettingsInput = SettingsInput<typeof apiVariables>;
