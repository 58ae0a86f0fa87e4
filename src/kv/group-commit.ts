/**
 * Group commit. Writers queue their changes; one flusher at a time takes the group at the head
 * of the queue (up to maxGroupBytes of batches), frames it as one log record (into a buffer
 * reused from group to group: the previous group's write has returned by then), writes it with
 * one write call and makes it durable (the log is opened O_DSYNC, so the write returns once
 * durable; on a handle without O_DSYNC, one fdatasync follows), then applies its commits in order
 * and resolves its promise. There is no artificial delay: a group is whatever queued while the
 * previous sync ran. As soon as a group's sync returns, the next group's write starts; once that
 * write (O_DSYNC) or its fdatasync has been issued, the finished group is applied and
 * acknowledged while the disk works (so that CPU work never delays issuing a sync). One sync is in flight at a time, and groups apply in commit order.
 *
 * A failed write or sync fails every commit in the group and every commit after it: the store
 * is then failed until reopened and recovered from disk. A sync error is never retried.
 * Exclusive tasks (log rotation) run between groups, when no write is in flight. One may fail
 * the store the same way (failWith), as the log rotation does when it fails after the new log
 * took its name (log-file.ts, NewLogInPlaceError).
 *
 * A group is formed as commits arrive: each joins the open group at the end of the queue (a
 * new one opens after an exclusive task or past maxGroupBytes), and every commit of a group
 * shares the group's one promise. So a commit costs no promise, closure or record of its own.
 */
import { CarveError, ErrorCodes, assert, messageOf } from '../errors.js';
import { type Changes, encodeGroup, groupRecordBytes } from './commit-encoding.js';
import type { ActiveLog } from './log-file.js';
import { maxGroupBytes } from './limits.js';

export type Durability = 'sync' | 'none';

const scratchStartBytes = 64 * 1024;

/** Commits queued to share one write and one sync; their sequence numbers are consecutive. */
class PendingGroup {
  readonly kind = 'group';
  readonly changes: Changes[] = [];
  totalBatchBytes = 0;
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(readonly firstSequence: number) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get size(): number {
    return this.changes.length;
  }

  add(sequence: number, changes: Changes, batchBytes: number): void {
    assert(sequence === this.firstSequence + this.changes.length, 'commits join a group in sequence order');
    this.changes.push(changes);
    this.totalBatchBytes += batchBytes;
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
  /** An exclusive task is running (no group in flight). */
  private exclusiveRunning = false;
  private failure: CarveError | undefined;
  /** Groups are framed here: the previous group's write has returned before the next is framed. */
  private scratch = Buffer.allocUnsafe(scratchStartBytes);
  readonly stats: GroupCommitStats = { groups: 0, commits: 0, syncs: 0 };

  constructor(
    private log: ActiveLog,
    private readonly durability: Durability,
    /**
     * Applies a durable group's commits (to the index), in commit order, before they resolve.
     * It must not throw: the group is durable, and its writers are told so right after.
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
    open.add(sequence, changes, batchBytes);
    this.kick();
    return open.promise;
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

  /** Resolves when everything queued so far has been flushed (or failed). */
  async drain(): Promise<void> {
    await this.exclusive(async () => undefined).catch(() => undefined);
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.flushLoop();
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

  /** Applies and acknowledges a durable group in order, or refuses a failed one. */
  private complete(group: PendingGroup, synced: boolean): void {
    if (!synced) {
      group.reject(this.failure);
      return;
    }
    this.stats.groups += 1;
    this.stats.commits += group.size;
    this.apply(group.changes);
    group.resolve();
  }

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
    for (const pending of this.queue.splice(0)) pending.reject(this.failure);
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
