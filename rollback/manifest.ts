/**
 * The plan as S3 Batch Operations takes it: one CSV manifest per operation
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-create-job.html, "Specifying a
 * manifest": each row the bucket, the object key, URL-encoded, and optionally the version id; a
 * manifest with a version id column needs one on every row, and a row without one acts on the
 * latest version), and the commands that would start the jobs.
 *
 * Batch Operations copies (S3PutObjectCopy) but deletes nothing: none of its operations
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-operations.html: copy, compute
 * checksums, tags, Lambda invoke, ACLs, restore, encryption, replication, Object Lock) calls
 * DeleteObject. The deletes and delete-marker removals are carried out by `--apply`, or by a
 * LambdaInvoke job with a function of the user's that deletes each task's key (version). Copies
 * of a null version get a manifest of their own: the manifest's documentation does not say a
 * version id column may name the null version, so they are left to `--apply` or such a function.
 */
import { NULL_VERSION, type RollbackAction } from "./decide.js";

export const MANIFEST_FORMAT = "S3BatchOperations_CSV_20180820";

export interface Manifest {
  file: string;
  /** The Batch Operations operation that carries it out, or the LambdaInvoke a user's function would need. */
  operation: "S3PutObjectCopy" | "LambdaInvoke";
  fields: ("Bucket" | "Key" | "VersionId")[];
  rows: string[];
}

/**
 * Percent-encoding (RFC 3986) of every byte outside the unreserved set, `/` included: it decodes
 * the same whether the reader treats `+` as a space (form decoding) or not, as no `+` is left,
 * and no comma, quote or newline reaches the CSV.
 */
export function encodeManifestKey(key: string): string {
  return encodeURIComponent(key).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function row(bucket: string, key: string, versionId?: string): string {
  return versionId === undefined ? `${bucket},${encodeManifestKey(key)}` : `${bucket},${encodeManifestKey(key)},${versionId}`;
}

/** The four manifests of a plan, in its (key) order; a manifest with no rows is still written, empty. */
export function manifestsOf(bucket: string, actions: readonly RollbackAction[]): Manifest[] {
  const copy: string[] = [];
  const copyNull: string[] = [];
  const deleteCurrent: string[] = [];
  const removeMarker: string[] = [];
  for (const action of actions) {
    if (action.kind === "copy-version") (action.source.versionId === NULL_VERSION ? copyNull : copy).push(row(bucket, action.key, action.source.versionId));
    else if (action.kind === "delete-current") deleteCurrent.push(row(bucket, action.key));
    else removeMarker.push(row(bucket, action.key, action.marker));
  }
  return [
    { file: "copy.csv", operation: "S3PutObjectCopy", fields: ["Bucket", "Key", "VersionId"], rows: copy },
    { file: "copy-null-version.csv", operation: "LambdaInvoke", fields: ["Bucket", "Key", "VersionId"], rows: copyNull },
    { file: "delete-current.csv", operation: "LambdaInvoke", fields: ["Bucket", "Key"], rows: deleteCurrent },
    { file: "remove-delete-marker.csv", operation: "LambdaInvoke", fields: ["Bucket", "Key", "VersionId"], rows: removeMarker },
  ];
}

export function manifestText(manifest: Manifest): string {
  return manifest.rows.map((line) => `${line}\n`).join("");
}

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * The shell commands that would start the jobs (`aws s3control create-job`,
 * https://docs.aws.amazon.com/cli/latest/reference/s3control/create-job.html): each manifest is
 * uploaded first, as a job names its manifest by object ARN and ETag (JobManifestLocation,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_JobManifestLocation.html). The
 * account, Region, role and the bucket for manifests and reports are the user's to fill in.
 * The header says what a job does not do that --apply does: Batch Operations Copy supports every
 * CopyObject option "except for conditional checks on entity tags (ETags) and SSE-C"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-copy-object.html, Restrictions
 * and limitations), so a job cannot skip a key written since the plan; and an archived version is
 * copied only once restored (same page: copying from S3 Glacier Flexible Retrieval or Deep Archive,
 * "you need to first restore these objects"; Intelligent-Tiering's archive tiers likewise:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-initiate-restore-object.html).
 */
export function jobCommands(bucket: string, dir: string, manifests: readonly Manifest[]): string {
  const lines = [
    "#!/bin/sh",
    `# Start S3 Batch Operations jobs for the rollback of ${bucket}. Fill in these, then run it.`,
    "# No Batch Operations operation deletes objects: the deletes are --apply's, or a LambdaInvoke job's (see below).",
    "# A job's copies are not conditional: a write made to a key after the plan is overwritten (--apply checks each key again and copies with If-Match).",
    "# Archived versions (S3 Glacier Flexible Retrieval, Deep Archive, Intelligent-Tiering archive tiers) must be restored before they are copied.",
    "set -eu",
    'ACCOUNT_ID="<account id>"',
    'REGION="<region of the bucket>"',
    'ROLE_ARN="<role Batch Operations assumes: s3:GetObject(Version) and s3:PutObject on the bucket>"',
    'MANIFEST_BUCKET="<bucket for manifests and reports>"',
    'MANIFEST_PREFIX="bucket-ledger-rollback"',
    'DELETE_FUNCTION_ARN="<your Lambda function that deletes each task\'s key or version>"',
    "",
  ];
  for (const manifest of manifests) {
    if (manifest.rows.length === 0) continue;
    const local = shellQuote(`${dir}/${manifest.file}`);
    const operation =
      manifest.operation === "S3PutObjectCopy"
        ? `'{"S3PutObjectCopy":{"TargetResource":"arn:aws:s3:::${bucket}"}}'`
        : `'{"LambdaInvoke":{"FunctionArn":"'"$DELETE_FUNCTION_ARN"'"}}'`;
    const spec = `{"Format":"${MANIFEST_FORMAT}","Fields":${JSON.stringify(manifest.fields)}}`;
    const etagVariable = `ETAG_${manifest.file.replace(/\W/g, "_").toUpperCase()}`;
    lines.push(
      manifest.operation === "S3PutObjectCopy"
        ? `# ${manifest.rows.length} copies of the moment's version over the current one (S3PutObjectCopy).`
        : `# ${manifest.rows.length} rows for a LambdaInvoke job with your own function (or leave them to \`bucket-ledger rollback-plan --apply\`).`,
      `${etagVariable}=$(aws s3api put-object --bucket "$MANIFEST_BUCKET" --key "$MANIFEST_PREFIX/${manifest.file}" --body ${local} --query ETag --output text)`,
      `aws s3control create-job --account-id "$ACCOUNT_ID" --region "$REGION" --role-arn "$ROLE_ARN" --priority 10 --confirmation-required \\`,
      `  --operation ${operation} \\`,
      `  --manifest '{"Spec":${spec},"Location":{"ObjectArn":"arn:aws:s3:::'"$MANIFEST_BUCKET/$MANIFEST_PREFIX"'/${manifest.file}","ETag":'"$${etagVariable}"'}}' \\`,
      `  --report '{"Enabled":true,"Bucket":"arn:aws:s3:::'"$MANIFEST_BUCKET"'","Prefix":"'"$MANIFEST_PREFIX"'/reports","Format":"Report_CSV_20180820","ReportScope":"AllTasks"}'`,
      "",
    );
  }
  return `${lines.join("\n")}\n`;
}
