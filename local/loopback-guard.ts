/**
 * The local S3, SQS and query API listen on 127.0.0.1 and authenticate nothing, so a request is answered
 * only when it was addressed to a loopback name and does not come from a web page:
 *
 * - a foreign Host header means a name other than loopback resolved here, which is what DNS
 *   rebinding does to let a web page talk to a local port;
 * - an Origin header is sent by browsers on cross-origin requests (and on every POST) and by no
 *   AWS SDK or CLI, so refusing it stops a page's cross-site `text/plain` POST without a preflight.
 */
import type { IncomingHttpHeaders } from "node:http";

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

/** Why the request must be refused, or undefined to serve it. */
export function foreignRequestReason(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host ?? "";
  if (!LOOPBACK_HOST.test(host)) return `the local endpoint serves only requests addressed to 127.0.0.1, localhost or [::1], not ${JSON.stringify(host)}`;
  if (headers.origin !== undefined) return "the local endpoint refuses requests from web pages (an Origin header)";
  return undefined;
}
