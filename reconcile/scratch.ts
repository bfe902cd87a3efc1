/**
 * The one home for reconciliation's scratch disk: sorted runs, the spooled ledger, orphan
 * keys and downloaded inventory files all spill here, under one byte budget.
 *
 * Why a budget: Lambda's /tmp is 512 MB unless the function's ephemeral storage is raised
 * (512 MB to 10,240 MB; Lambda developer guide, "Configuring ephemeral storage"), and a run
 * that fills it fails with ENOSPC somewhere in a write stream, leaving a half-read source and
 * no reason anyone can act on. A spill that would pass the budget stops the run first, with a
 * reason that names the limit and how to raise it; nothing is deleted (invariant 3: a run
 * that did not read its whole source never deletes).
 *
 * The budget is the smaller of `BUCKET_LEDGER_SCRATCH_LIMIT_BYTES` (the stack sets it from the
 * function's ephemeral storage) and 90% of what the scratch file system has free when the
 * first spill starts, so a developer's disk is never filled either.
 *
 * Every directory made here is removed when its spill ends, and on SIGINT, SIGTERM and exit
 * for whatever is left. That is not enough in Lambda: it sends SIGTERM only to functions with
 * an external extension registered (aws-samples/graceful-shutdown-with-aws-lambda), and a
 * timed-out invocation's environment is reset, not shut down, while /tmp may be kept for the
 * next invocation. So each directory carries its process id, and the first spill of a process
 * removes the directories of processes that no longer run (and its own, from an invocation
 * that did not finish), before it measures the free space.
 */
import { readdirSync, rmSync, statfsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReconcileError } from "./errors.js";

export const SCRATCH_LIMIT_ENV = "BUCKET_LEDGER_SCRATCH_LIMIT_BYTES";

/** Share of the free space a spill may take: the rest is for the runtime and the OS. */
const FREE_SPACE_SHARE = 0.9;

const DIRECTORY_PREFIX = "bucket-ledger-scratch-";
const LEFTOVER = /^bucket-ledger-scratch-(\d+)-/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A spill would pass the scratch budget: the run stops before its disk fills. */
export class ScratchSpaceExceededError extends ReconcileError {
  constructor(
    readonly limitBytes: number,
    readonly what: string,
  ) {
    super(
      `reconciliation needs more scratch disk than its limit of ${formatMiB(limitBytes)} to hold ${what}; nothing was deleted. ` +
        `Raise the reconcile function's ephemeral storage (reconcileEphemeralStorageMb, up to 10240), or reconcile from a listing in key order`,
    );
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Parses the configured limit; anything but a positive integer is a configuration error. */
export function configuredLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit <= 0)
    throw new ReconcileError(`${SCRATCH_LIMIT_ENV} must be a positive whole number of bytes, not ${JSON.stringify(value)}`);
  return limit;
}

export class ScratchSpace {
  private used = 0;
  private limit?: number;
  private readonly directories = new Map<string, number>();
  private cleanupInstalled = false;

  constructor(
    private readonly root: string = tmpdir(),
    private readonly limitBytes: () => number | undefined = () => configuredLimit(process.env[SCRATCH_LIMIT_ENV]),
  ) {}

  /** The budget in bytes, fixed at the first spill. */
  budget(): number {
    if (this.limit === undefined) {
      this.removeLeftovers();
      const { bavail, bsize } = statfsSync(this.root);
      const free = Math.floor(Number(bavail) * Number(bsize) * FREE_SPACE_SHARE);
      const configured = this.limitBytes();
      this.limit = configured === undefined ? free : Math.min(configured, free);
    }
    return this.limit;
  }

  /** Bytes held on disk now, over every directory. */
  get usedBytes(): number {
    return this.used;
  }

  /** A new empty directory for one spill, removed on exit or a signal if still there. */
  async directory(prefix: string): Promise<string> {
    this.budget();
    const directory = await mkdtemp(join(this.root, `${DIRECTORY_PREFIX}${process.pid}-${prefix}-`));
    this.directories.set(directory, 0);
    this.installCleanup();
    return directory;
  }

  /** Counts `bytes` about to be written into `directory`; throws before the budget is passed. */
  charge(directory: string, bytes: number, what: string): void {
    const held = this.directories.get(directory);
    if (held === undefined) throw new Error(`scratch directory ${directory} is not open`);
    if (this.used + bytes > this.budget()) throw new ScratchSpaceExceededError(this.budget(), what);
    this.used += bytes;
    this.directories.set(directory, held + bytes);
  }

  /** Gives back bytes of a file removed from a directory that stays open. */
  release(directory: string, bytes: number): void {
    const held = this.directories.get(directory);
    if (held === undefined) return;
    const released = Math.min(held, bytes);
    this.used -= released;
    this.directories.set(directory, held - released);
  }

  /** Removes a directory and everything in it, and gives its bytes back. */
  async remove(directory: string): Promise<void> {
    const held = this.directories.get(directory);
    if (held === undefined) return;
    this.directories.delete(directory);
    this.used -= held;
    await rm(directory, { recursive: true, force: true });
  }

  /** Removes every directory still open; synchronous so it can run in an exit handler. */
  removeAllSync(): void {
    for (const directory of this.directories.keys()) rmSync(directory, { recursive: true, force: true });
    this.directories.clear();
    this.used = 0;
  }

  /**
   * Directories of processes that no longer run, or of this process that it no longer holds
   * (an earlier invocation in the same Lambda environment that timed out mid-spill).
   */
  private removeLeftovers(): void {
    for (const name of readdirSync(this.root)) {
      const match = LEFTOVER.exec(name);
      if (!match) continue;
      const pid = Number(match[1]);
      const path = join(this.root, name);
      if (pid === process.pid ? !this.directories.has(path) : !isRunning(pid)) rmSync(path, { recursive: true, force: true });
    }
  }

  private installCleanup(): void {
    if (this.cleanupInstalled) return;
    this.cleanupInstalled = true;
    process.once("exit", () => this.removeAllSync());
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const onSignal = () => {
        this.removeAllSync();
        // Only if nobody else handles the signal: then the process ends as it would have.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      };
      process.once(signal, onSignal);
    }
  }
}

/** The process's scratch space: one budget for every spill of every run in it. */
export const scratch = new ScratchSpace();
