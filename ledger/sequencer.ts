/**
 * S3 sequencers: hex strings that order events for one key. AWS documents that they vary in
 * length (compare after right-padding the shorter with zeros) and EventBridge sends them in
 * lower case where classic notifications use upper case. Normalizing to one case and one
 * width lets DynamoDB compare them as plain strings inside a condition expression.
 */
import { InvalidSequencerError } from "./errors.js";

/** Width every stored sequencer is padded to. S3 sequencers seen in the wild are 16-18 digits. */
export const SEQUENCER_WIDTH = 32;

const HEX = /^[0-9a-fA-F]+$/;

export function normalizeSequencer(raw: string): string {
  if (!HEX.test(raw)) {
    throw new InvalidSequencerError(`sequencer ${JSON.stringify(raw)} is not a hex string`);
  }
  if (raw.length > SEQUENCER_WIDTH) {
    throw new InvalidSequencerError(`sequencer ${JSON.stringify(raw)} is longer than ${SEQUENCER_WIDTH} digits and cannot be ordered safely`);
  }
  return raw.toUpperCase().padEnd(SEQUENCER_WIDTH, "0");
}

/** Negative when `a` is older than `b`, zero for the same event, positive when newer. */
export function compareSequencers(a: string, b: string): number {
  const left = normalizeSequencer(a);
  const right = normalizeSequencer(b);
  return left < right ? -1 : left > right ? 1 : 0;
}
