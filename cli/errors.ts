/** Bad command-line input: exit code 2, as with commander's own usage errors. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** 3: a safety guard refused to act (e.g. reconcile --max-delete); nothing was changed. */
export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

/** The thing asked for does not exist (e.g. `get` of a key never seen): exit code 1. */
export class LookupFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LookupFailedError";
  }
}
