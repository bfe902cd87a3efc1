/**
 * What fauxqs lacks and S3 does: `encoding-type=url` on object listings. With it, S3 returns
 * Key, Prefix, Delimiter and StartAfter URL-encoded, and says so in `<EncodingType>` (S3 API
 * reference, ListObjectsV2). fauxqs writes keys as escaped XML text whatever was asked, so a
 * key holding a CR or a control character would come back changed or break the parse, which
 * is S3's behaviour without the parameter, not with it.
 */
import { encodeS3EventKey } from "../events/object-key.js";

const ENCODED_ELEMENTS = /<(Key|Prefix|Delimiter|StartAfter)>([^<]*)<\/\1>/g;

const XML_ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'" };

const unescapeXml = (text: string) => text.replace(/&(?:amp|lt|gt|quot|apos);/g, (entity) => XML_ENTITIES[entity]!);

/** Rewrites a ListBucketResult document as S3 answers a listing asked for with `encoding-type=url`. */
export function urlEncodeListing(xml: string): string {
  return xml
    .replace(ENCODED_ELEMENTS, (_match, element: string, text: string) => `<${element}>${encodeS3EventKey(unescapeXml(text))}</${element}>`)
    .replace(/(<MaxKeys>\d+<\/MaxKeys>)/, "$1\n  <EncodingType>url</EncodingType>");
}

/** Whether a request asks for a URL-encoded listing and this payload is one. */
export function wantsUrlEncodedListing(query: unknown, payload: unknown): payload is string {
  const encodingType = (query as Record<string, unknown> | undefined)?.["encoding-type"];
  return encodingType === "url" && typeof payload === "string" && payload.includes("<ListBucketResult");
}
