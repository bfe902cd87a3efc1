/**
 * What the ledger can keep of each object beyond its state (the `enrich` config): the fields
 * asked of S3 (s3/object-details.ts), which metadata events are worth subscribing to
 * (subscriptions.ts), and what every edge (stack config, Lambda settings, `dev`) accepts.
 */
import { z } from "zod";

export const ENRICHMENT_FIELDS = ["contentType", "userMetadata", "tags", "checksum", "encryption", "storageClass"] as const;
export type EnrichmentField = (typeof ENRICHMENT_FIELDS)[number];

/** The `enrich` list, at every edge (stack config, Lambda environment, `dev`). */
export const enrichmentFieldsSchema = z.array(z.enum(ENRICHMENT_FIELDS)).transform((fields) => [...new Set(fields)]);
