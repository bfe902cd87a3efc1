/**
 * S3's rules for general purpose bucket names, the one home of them: the local S3 emulator
 * refuses a bucket it could not have, and the CLI refuses, as a usage error, a name no bucket
 * can have, before it asks the ledger.
 *
 * From the S3 user guide, "General purpose bucket naming rules"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3 to 63
 * characters; lowercase letters, numbers, periods and hyphens only; beginning and ending with a
 * letter or number; no two adjacent periods; not formatted as an IP address; none of the
 * reserved prefixes and suffixes. (Buckets created in us-east-1 before 1 March 2018 may break
 * them; a stack cannot track those either: infra/args.ts refuses them.) Whatever passes cannot
 * name a path outside a directory.
 *
 * Imports nothing from the project: a bottom-layer AWS adapter.
 */

export const BUCKET_NAMING_RULES_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html";

/** Reserved prefixes and suffixes of general purpose bucket names (the same page). */
const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** The first rule `name` breaks, in the user guide's words; undefined when it breaks none. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "bucket names must be between 3 and 63 characters long";
  if (!/^[a-z0-9.-]*$/.test(name)) return "bucket names can consist only of lowercase letters, numbers, periods (.) and hyphens (-)";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return "bucket names must begin and end with a letter or number";
  if (name.includes("..")) return "bucket names must not contain two adjacent periods";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "bucket names must not be formatted as an IP address";
  const prefix = RESERVED_PREFIXES.find((reserved) => name.startsWith(reserved));
  if (prefix) return `bucket names must not start with the reserved prefix ${prefix}`;
  const suffix = RESERVED_SUFFIXES.find((reserved) => name.endsWith(reserved));
  if (suffix) return `bucket names must not end with the reserved suffix ${suffix}`;
  return undefined;
}

export const isValidBucketName = (name: string): boolean => bucketNameProblem(name) === undefined;
