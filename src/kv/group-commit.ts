/**
 * Group commit. Writers queue their changes; one flusher at a time takes the group at the head
 * of the queue (up to maxGroupBytes of batches), frames it as one log record (into a buffer
 * reused from group to group: the previous group's write has returned by then), writes it with
 * one write call and makes it durable (the log is opened O_DSYNC, so the write returns once
 * durable; on a handle without O_DSYNC, one fdatasync follows), then applies its commits in order
 * and tells its writers. There is no artificial delay: a group is whatever queued while the
 * previous sync ran. As soon as a group's sync returns, the next group's write starts; once that
 * write (O_DSYNC) or its fdatasync has been issued, the finished group is applied, and its
 * writers are queued to be told, while the disk works (so that CPU work never delays issuing a
 * sync). One sync is in flight at a time, and groups apply in commit order. A group's writers
 * are told in slices of ackSliceCommits, one slice per turn of the event loop: the writers of
 * one slice run (and queue their next commits) before the next slice is told, so a sync
 * returning meanwhile starts the next write after one slice's work rather than the whole
 * group's. Commits queued before a failure are told in commit order, refusals included; a
 * write made after the failure, and a queued exclusive task, are refused at once. drain (and
 * so the store's close) resolves only once every writer queued before it has been told (or
 * refused).
 *
 * A failed write or sync fails every commit in the group and every commit after it: the store
 * is then failed until reopened and recovered from disk. A sync error is never retried.
 * Exclusive tasks (log rotation) run between groups, when no write is in flight. One may fail
 * the store the same way (failWith), as the log rotation does when it fails after the new log
 * took its name (log-file.ts, NewLogInPlaceError).
 *
 * A group is formed as commits arrive: each joins the open group at the end of the queue (a
 * new one opens after an exclusive task or past maxGroupBytes), and every commit of a slice
 * shares the slice's one promise. So a commit costs no promise, closure or record of its own.
 */
import { CarveError, ErrorCodes, assert, messageOf } from '../errors.js';
import { type Changes, encodeGroup, groupRecordBytes } from './commit-encoding.js';
import type { ActiveLog } from './log-file.js';
import { maxGroupBytes } from './limits.js';

export type Durability = 'sync' | 'none';

const scratchStartBytes = 64 * 1024;

/**
 * A finished group's writers are told in slices of at most this many commits, one slice per
 * turn of the event loop. A slice's writers run, and queue their next commits, before the next
 * slice is told; so a sync that returns meanwhile gets the next write issued after one slice's
 * work rather than a whole group's. That pays when writers work between commits: 256 writers
 * that each encode their value as JSON ran 1.10× the commits/s of a group told at once, and
 * writers reading their keys from a million-key pool in scattered order 1.17–1.23×; with the
 * bench's writers, which only loop, no change was measurable (bench/README, "Telling a group's
 * writers in slices"). With the scattered keys, slices of 64 ran 1.07× as fast as slices of 32,
 * and faster than 48 and 96 in other rounds. A group of 64 commits or fewer (64 writers or
 * fewer) is told in one slice.
 */
export const ackSliceCommits = 64;

/** The commits of a group told together: they share one promise. */
class AckSlice {
  readonly promise: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;
  /** Set if the slice's group failed: it is then refused with this. */
  private refusal: CarveError | undefined = undefined;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The slice is to be refused with `failure` when told. */
  refuseWith(failure: CarveError): void {
    this.refusal = failure;
  }

  tell(): void {
    if (this.refusal === undefined) this.resolve();
    else this.reject(this.refusal);
  }
}

/** Commits queued to share one write and one sync; their sequence numbers are consecutive. */
class PendingGroup {
  readonly kind = 'group';
  readonly changes: Changes[] = [];
  readonly slices: AckSlice[] = [];
  totalBatchBytes = 0;

  constructor(readonly firstSequence: number) {}

  get size(): number {
    return this.changes.length;
  }

  /** Adds a commit; returns the promise of its slice. */
  add(sequence: number, changes: Changes, batchBytes: number): Promise<void> {
    assert(sequence === this.firstSequence + this.changes.length, 'commits join a group in sequence order');
    if (this.changes.length % ackSliceCommits === 0) this.slices.push(new AckSlice());
    this.changes.push(changes);
    this.totalBatchBytes += batchBytes;
    return this.slices[this.slices.length - 1]!.promise;
  }
}

interface Exclusive {
  readonly kind: 'exclusive';
  readonly task: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface GroupIo {
  readonly group: PendingGroup;
  /** Resolves true once the group is durable, false if the log failed. */
  readonly io: Promise<boolean>;
  /** Resolves once the group's fdatasync has been issued (or the I/O ended). */
  readonly syncIssued: Promise<void>;
}

export interface GroupCommitStats {
  groups: number;
  commits: number;
  /** Group writes made durable: O_DSYNC writes, or fdatasyncs after plain writes. */
  syncs: number;
}

export class GroupCommitter {
  private readonly queue: Array<PendingGroup | Exclusive> = [];
  private flushing = false;
  /** The flush loop running or last run: after a failure, it queues the refusals as it ends. */
  private flushed: Promise<void> = Promise.resolve();
  /** An exclusive task is running (no group in flight). */
  private exclusiveRunning = false;
  private failure: CarveError | undefined;
  /** Groups are framed here: the previous group's write has returned before the next is framed. */
  private scratch = Buffer.allocUnsafe(scratchStartBytes);
  /**
   * Slices of finished groups not told yet, oldest first; one is told per turn of the event loop
   * (a turn is scheduled whenever this is not empty).
   */
  private readonly untold: AckSlice[] = [];
  /** Groups a failure took from the queue, not told yet (fail, tellRefused). */
  private readonly refusedBehind: PendingGroup[] = [];
  readonly stats: GroupCommitStats = { groups: 0, commits: 0, syncs: 0 };

  constructor(
    private log: ActiveLog,
    private readonly durability: Durability,
    /**
     * Applies a durable group's commits (to the index), in commit order, before any of them is
     * told. It must not throw: the group is durable, and its writers are told so from then on.
     */
    private readonly apply: (commits: readonly Changes[]) => void,
    /** Told which log failed, before the failure is reported to anyone. */
    private readonly onFailure?: (log: ActiveLog) => void,
  ) {}

  get activeLog(): ActiveLog {
    return this.log;
  }

  get failed(): CarveError | undefined {
    return this.failure;
  }

  /** Resolves once the changes are durable (durability 'sync') and applied. */
  commit(sequence: number, changes: Changes, batchBytes: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let open = this.queue[this.queue.length - 1];
    if (open?.kind !== 'group' || open.totalBatchBytes + batchBytes > maxGroupBytes) {
      open = new PendingGroup(sequence);
      this.queue.push(open);
    }
    const told = open.add(sequence, changes, batchBytes);
    this.kick();
    return told;
  }

  /** Runs `task` between groups, with no write in flight. */
  exclusive(task: () => Promise<void>): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'exclusive', task, resolve, reject });
      this.kick();
    });
  }

  /** Switches to a new log; only from inside an exclusive task. */
  replaceLog(log: ActiveLog): ActiveLog {
    const previous = this.log;
    this.log = log;
    return previous;
  }

  /** Resolves when everything queued so far has been flushed (or failed), and its writers told. */
  async drain(): Promise<void> {
    await this.exclusive(async () => undefined).catch(() => undefined);
    // A failure refuses this drain's task at once, before the loop has queued the refusals of
    // the groups in flight or behind: wait for the loop (the last one: a failed store starts no
    // other) to end first.
    if (this.failure !== undefined) await this.flushed.catch(() => undefined);
    // Slices are told in order: once the last one queued is, every one before it is too.
    await this.untold[this.untold.length - 1]?.promise.catch(() => undefined);
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.flushed = this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      let inFlight: GroupIo | undefined;
      for (;;) {
        if (inFlight !== undefined) {
          const done = inFlight;
          const synced = await done.io;
          // Start the next group's I/O before applying this one, and apply once its sync is
          // issued: the disk is never idle waiting for this thread.
          const next = this.queue[0];
          inFlight = synced && next?.kind === 'group' ? this.startGroup(this.takeGroup(next)) : undefined;
          await inFlight?.syncIssued;
          this.complete(done.group, synced);
          continue;
        }
        const head = this.queue[0];
        if (head === undefined) return;
        if (head.kind === 'exclusive') {
          this.queue.shift();
          this.exclusiveRunning = true;
          try {
            await head.task().then(head.resolve, head.reject);
          } finally {
            this.exclusiveRunning = false;
          }
          continue;
        }
        inFlight = this.startGroup(this.takeGroup(head));
      }
    } finally {
      this.flushing = false;
      // After a failure the queue is empty and new work is refused, so the loop ends as soon as
      // no group is in flight: the groups the failure took are told after every earlier one.
      this.tellRefused();
    }
  }

  private takeGroup(head: PendingGroup): PendingGroup {
    assert(this.queue[0] === head && head.size > 0, 'the group taken is the head of the queue, and holds a commit');
    this.queue.shift();
    return head;
  }

  /** Writes and syncs a group; `io` resolves true once it is durable, false if the log failed. */
  private startGroup(group: PendingGroup): GroupIo {
    const log = this.log;
    if (this.failure !== undefined) return { group, io: Promise.resolve(false), syncIssued: Promise.resolve() };
    let markSyncIssued!: () => void;
    const syncIssued = new Promise<void>((resolve) => {
      markSyncIssued = resolve;
    });
    const recordBytes = groupRecordBytes(group);
    if (this.scratch.length < recordBytes) this.scratch = Buffer.allocUnsafe(Math.max(recordBytes, 2 * this.scratch.length));
    const bytes = encodeGroup(group, log.salt, log.durableOffsetBytes, this.scratch);
    const offset = log.endOffsetBytes;
    log.endOffsetBytes += bytes.length;
    const endBytes = offset + bytes.length;
    const io = (async () => {
      try {
        const waitForSpace = log.space?.reserve(endBytes);
        if (waitForSpace !== undefined) await waitForSpace;
        const writing = log.handle.write(bytes, offset);
        // O_DSYNC: the write is the sync (durable when it returns); nothing else to issue.
        if (log.handle.dsync) markSyncIssued();
        await writing;
        if (this.durability === 'sync') {
          if (!log.handle.dsync) {
            const syncing = log.handle.datasync();
            markSyncIssued();
            await syncing;
          }
          this.stats.syncs += 1;
          log.durableOffsetBytes = endBytes;
        }
        return true;
      } catch (error) {
        this.onFailure?.(log);
        this.failIo(error, log.path);
        return false;
      } finally {
        markSyncIssued();
      }
    })();
    return { group, io, syncIssued };
  }

  /**
   * Applies a durable group (its commits in order), or marks a failed one refused; either way
   * its slices join the untold ones, and the oldest is told now if none was waiting.
   */
  private complete(group: PendingGroup, synced: boolean): void {
    if (synced) {
      this.stats.groups += 1;
      this.stats.commits += group.size;
      this.apply(group.changes);
    }
    this.queueToTell(group, synced);
  }

  /** Queues the group's slices to be told (refused unless `durable`); tells the oldest now if none was waiting. */
  private queueToTell(group: PendingGroup, durable: boolean): void {
    assert(group.slices.length > 0, 'a group queued to be told holds a commit');
    const refusal = durable ? undefined : this.failure;
    assert(durable || refusal !== undefined, 'a group is refused only once the store has failed');
    const noneWaiting = this.untold.length === 0;
    for (const slice of group.slices) {
      if (refusal !== undefined) slice.refuseWith(refusal);
      this.untold.push(slice);
    }
    if (noneWaiting) this.tellOldest();
  }

  /** Tells the oldest untold slice; the next waits for the next turn of the event loop. */
  private readonly tellOldest = (): void => {
    const slice = this.untold.shift();
    assert(slice !== undefined, 'a slice is told only when one is waiting');
    slice.tell();
    if (this.untold.length > 0) setImmediate(this.tellOldest);
  };

  /**
   * Fails the store with `failure` (an E_DB_FAILED), as a failed sync does: every commit and
   * exclusive task queued, and every one to come, is refused. Only from inside an exclusive task
   * (no group in flight, which would still be acknowledged), for one that finds the log may take
   * no more records.
   */
  failWith(failure: CarveError): void {
    assert(failure.code === ErrorCodes.DB_FAILED, 'a store fails with E_DB_FAILED');
    assert(this.exclusiveRunning, 'failWith is called from inside an exclusive task');
    this.fail(failure);
  }

  private fail(failure: CarveError): void {
    this.failure ??= failure;
    for (const pending of this.queue.splice(0)) {
      if (pending.kind === 'exclusive') pending.reject(this.failure);
      else this.refusedBehind.push(pending);
    }
  }

  /** Queues the groups a failure took from the queue to be refused (when the flush loop ends). */
  private tellRefused(): void {
    for (const group of this.refusedBehind.splice(0)) this.queueToTell(group, false);
  }

  private failIo(error: unknown, path: string): void {
    this.fail(
      new CarveError(ErrorCodes.DB_FAILED, `a log write or sync failed (${messageOf(error)}); the database must be reopened to recover from disk`, {
        path,
        cause: error,
      }),
    );
  }
}
