/** The chaos flags `dev` and `demo --chaos` share: the faults S3 and DynamoDB really have. */
import type { Command } from "commander";
import { parseDuration, parseFraction, parsePositiveInt } from "./option-parsers.js";

export interface ChaosOptions {
  dropEvents?: number;
  duplicateEvents?: number;
  maxDelay?: number;
  tableOutage?: number;
  faultSeed?: number;
}

export function withChaosOptions(
  command: Command,
  help: { prefix: string; defaults?: { drop: string; duplicate: string; delay: string; outage: string }; outage: string },
): Command {
  const orDefault = (value: string | undefined) => (value === undefined ? "" : ` (default ${value})`);
  return command
    .option(
      "--drop-events <fraction>",
      `${help.prefix}lose this share of S3 event notifications${orDefault(help.defaults?.drop)}`,
      parseFraction("--drop-events"),
    )
    .option(
      "--duplicate-events <fraction>",
      `${help.prefix}deliver this share of notifications twice${orDefault(help.defaults?.duplicate)}`,
      parseFraction("--duplicate-events"),
    )
    .option(
      "--max-delay <duration>",
      `${help.prefix}delay each notification by up to this long, reordering them${orDefault(help.defaults?.delay)}`,
      parseDuration("--max-delay"),
    )
    .option("--table-outage <duration>", `${help.prefix}${help.outage}${orDefault(help.defaults?.outage)}`, parseDuration("--table-outage"))
    .option("--fault-seed <n>", `${help.prefix}seed of the fault choices, to repeat a run exactly`, parsePositiveInt("--fault-seed"));
}
