/**
 * The life of one `bucket-ledger dev` process: the stack, the signals that stop it, and the
 * dev.json that announces it.
 *
 * - Signals are caught from the first moment: one that arrives while the emulators start
 *   stops them as soon as they are up, so no JVM outlives the command; a second one exits at
 *   once.
 * - dev.json is removed only if this process wrote it (another `dev` may own the one there),
 *   and only once the write has finished, so a signal mid-write leaves none behind.
 * - A dev.json that cannot be written stops the stack before the error is reported.
 * - Nothing is announced as ready once stopping has begun.
 */
import { devFilePath, removeDevFile, writeDevFile } from "./dev-file.js";
import { LocalStack, type LocalStackOptions } from "./stack.js";

export interface DevSessionHooks {
  /** Told when a signal starts the stop. */
  onSignal?: (signal: NodeJS.Signals) => void;
  /** Called once the stack is up, before dev.json is written (chaos announcements, SIGUSR1). */
  onStarted?: (stack: LocalStack) => void;
  /** Called once dev.json is written and the stack is not stopping: the ready line. */
  onReady: (stack: LocalStack) => void;
}

/** Runs the local stack until SIGINT or SIGTERM, then stops it; resolves when it has stopped. */
export async function runDevSession(options: LocalStackOptions, hooks: DevSessionHooks): Promise<void> {
  let signalled: NodeJS.Signals | undefined;
  let stopStack: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130); // a second Ctrl-C means "now"
    signalled = signal;
    hooks.onSignal?.(signal);
    stopStack?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const stack = await LocalStack.start(options);
  let devFileWritten = Promise.resolve(false);
  const stopped = new Promise<void>((resolve) => {
    stopStack = () =>
      void devFileWritten
        .then((written) => (written ? removeDevFile() : undefined))
        .catch(() => undefined)
        .then(() => stack.stop())
        .then(resolve);
  });
  if (signalled) {
    stopStack!();
    return stopped;
  }
  hooks.onStarted?.(stack);
  devFileWritten = writeDevFile(stack.info).then(() => true);
  try {
    await devFileWritten;
  } catch (error) {
    await stack.stop();
    throw new Error(`cannot write ${devFilePath()}: ${(error as Error).message}; the local stack was stopped`, { cause: error });
  }
  if (signalled) return stopped;
  hooks.onReady(stack);
  return stopped;
}
