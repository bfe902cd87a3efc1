/**
 * Physical names within AWS's length limits. Pulumi names a resource without an explicit name
 * `<logical name>-<7 random hex digits>` (its autonaming), so a logical name must leave room for
 * those 8 characters under the type's limit.
 */
import { createHash } from "node:crypto";

export const AUTONAME_SUFFIX_LENGTH = 8;

/** EventBridge PutRule, Name: at most 64 characters (EventBridge API reference, PutRule). */
export const EVENT_RULE_NAME_MAX = 64;

/**
 * `name` itself when it fits in `max` characters; otherwise its first characters, a dash and 8
 * hex digits of its SHA-256. Stable (the same name always gives the same result, so an update
 * does not replace the resource) and unique per name (two long names sharing a prefix differ in
 * their hash).
 */
export function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, max - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** A logical name whose autonamed physical name fits in `max` characters. */
export const fitAutonamed = (name: string, max: number): string => fitName(name, max - AUTONAME_SUFFIX_LENGTH);
