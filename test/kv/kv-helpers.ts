/**
 * Shared helpers for the KvStore tests (not a test file itself): typed-error matchers, byte
 * helpers, temp directories, and ControlledStorage, a delegating Storage that counts syncs per
 * file, tracks how many datasyncs are in flight at once, can hold a datasync open until the
 * test releases it, and can make the nth datasync fail with EIO. A write through an O_DSYNC
 * handle counts as a datasync (it is one: durable when it returns), held and failed the same way.
 * RecordingStorage records opens, closes and writes of zeros; FailingOpens fails chosen opens,
 * FailingDirSync (src/lab/faults.ts, re-exported here) the next directory sync, and
 * FailingHandleCalls the next read, append or close of a chosen file. assertReopenedHolds reopens a
 * store and checks its values.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import type { BatchOp } from '../../src/kv/batch-codec.js';
import { bytesToLatin1 } from '../../src/kv/bytes.js';
import type { Changes } from '../../src/kv/commit-encoding.js';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';
import type { FileHandle, OpenFlags, OpenOptions, Storage } from '../../src/storage/storage.js';
import { DelegatingFileHandle, DelegatingStorage } from '../../src/storage/delegating.js';

export { seededRandom } from '../support/seeded-random.js';
export { FailingDirSync } from '../../src/lab/faults.js';

/** An assert.throws / assert.rejects validator: a CarveError with this code (and path/offset if given). */
export function carveError(code: ErrorCode, where: { path?: string; offset?: number } = {}): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError ${code}, got ${error instanceof Error ? error.stack : String(error)}`);
    assert.equal(error.code, code, error.message);
    if (where.path !== undefined) assert.equal(error.path, where.path, `path of: ${error.message}`);
    if (where.offset !== undefined) assert.equal(error.offset, where.offset, `offset of: ${error.message}`);
    return true;
  };
}

export const b = (text: string): Uint8Array => Buffer.from(text, 'latin1');
export const hex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
/** The bytes as a latin1 string (one char per byte); undefined stays undefined. */
export function latin1(bytes: Uint8Array): string;
export function latin1(bytes: Uint8Array | undefined): string | undefined;
export function latin1(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : bytesToLatin1(bytes);
}

/** A batch's ops as the store's flat changes (key, new value or undefined, … as latin1 strings). */
export function changesOf(ops: readonly BatchOp[]): Changes {
  return ops.flatMap((op) => [bytesToLatin1(op.key), op.type === 'put' ? bytesToLatin1(op.value) : undefined]);
}

/** Lets every queued microtask and pending I/O callback run (no timers, no time-based assertions). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function tempNodeStorage(prefix = 'carve-kv-'): Promise<{ storage: NodeStorage; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const storage = await NodeStorage.open(dir);
  return { storage, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Temp NodeStorages for one test file, each in its own directory, all removed when the file's
 * tests end (node:test's `after`).
 */
export function tempNodeStorages(prefix: string): () => Promise<{ storage: NodeStorage; dir: string }> {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  return async () => {
    const made = await tempNodeStorage(prefix);
    cleanups.push(made.cleanup);
    return made;
  };
}

/** A held operation: `reached` resolves when it arrives at the hold; `release` lets it run. */
export interface Hold {
  readonly reached: Promise<void>;
  release(): void;
}

/** A hold, and `arrive`, which the held operation awaits: it resolves once the hold is released. */
export function newHold(): Hold & { arrive(): Promise<void> } {
  let reachedResolve!: () => void;
  const reached = new Promise<void>((resolve) => {
    reachedResolve = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    reached,
    release,
    arrive: () => {
      reachedResolve();
      return released;
    },
  };
}

/** Delegating Storage that instruments datasync/sync; see the file header. */
export class ControlledStorage extends DelegatingStorage {
  /** datasync calls that started, per handle path. */
  readonly datasyncCalls: string[] = [];
  /** datasync calls that returned successfully. */
  datasyncsCompleted = 0;
  /** sync (fsync) calls, per handle path. */
  readonly syncCalls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** 1-based: the datasync with this ordinal throws EIO (without calling the inner datasync). */
  failDatasyncAt: number | undefined;
  private holds: Array<ReturnType<typeof newHold>> = [];

  constructor(inner: Storage) {
    super(inner, `controlled(${inner.description})`);
  }

  /** The next datasync to arrive waits until the returned hold is released. */
  holdNextDatasync(): Hold {
    const hold = newHold();
    this.holds.push(hold);
    return hold;
  }

  /** A datasync, or (`action` given) a write through an O_DSYNC handle, instrumented. */
  async datasyncOf<T>(handle: FileHandle, action: () => Promise<T> = async () => (await handle.datasync()) as T): Promise<T> {
    this.datasyncCalls.push(handle.path);
    const ordinal = this.datasyncCalls.length;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.holds.shift()?.arrive();
      if (ordinal === this.failDatasyncAt) {
        throw new CarveError(ErrorCodes.EIO, 'injected: input/output error during writeback', { path: handle.path });
      }
      const result = await action();
      this.datasyncsCompleted += 1;
      return result;
    } finally {
      this.inFlight -= 1;
    }
  }

  protected override wrapHandle(handle: FileHandle): FileHandle {
    return new ControlledHandle(this, handle);
  }
}

class ControlledHandle extends DelegatingFileHandle {
  constructor(
    private readonly owner: ControlledStorage,
    inner: FileHandle,
  ) {
    super(inner);
  }
  override sync(): Promise<void> {
    this.owner.syncCalls.push(this.inner.path);
    return super.sync();
  }
  override datasync(): Promise<void> {
    return this.owner.datasyncOf(this.inner);
  }
  override write(data: Uint8Array, positionBytes: number): Promise<number> {
    if (!this.inner.dsync) return super.write(data, positionBytes);
    return this.owner.datasyncOf(this.inner, () => this.inner.write(data, positionBytes));
  }
  override append(data: Uint8Array): Promise<number> {
    if (!this.inner.dsync) return super.append(data);
    return this.owner.datasyncOf(this.inner, () => this.inner.append(data));
  }
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly settled: boolean; readonly rejected: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, rejected: false, promise };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
      state.rejected = true;
    },
  );
  return state;
}

/**
 * A delegating Storage that records, in order, every open asked of it ("path flags"), every
 * close of a handle it opened ("path"), and every write of nothing but zeros through one (its
 * path: a log's fills are such writes, its records never are).
 */
export class RecordingStorage extends DelegatingStorage {
  readonly opens: string[] = [];
  readonly closes: string[] = [];
  readonly zeroWrites: string[] = [];

  override open(path: string, flags: OpenFlags, mode?: number, options?: OpenOptions): Promise<FileHandle> {
    this.opens.push(`${path} ${flags}`);
    return super.open(path, flags, mode, options);
  }

  protected override wrapHandle(handle: FileHandle): FileHandle {
    return new RecordedHandle(handle, this);
  }
}

/** A handle that tells its RecordingStorage of its close and of its writes of zeros. */
class RecordedHandle extends DelegatingFileHandle {
  constructor(
    inner: FileHandle,
    private readonly recording: RecordingStorage,
  ) {
    super(inner);
  }

  override write(data: Uint8Array, positionBytes: number): Promise<number> {
    if (data.length > 0 && data.every((byte) => byte === 0)) this.recording.zeroWrites.push(this.path);
    return super.write(data, positionBytes);
  }

  override close(): Promise<void> {
    this.recording.closes.push(this.path);
    return super.close();
  }
}

/**
 * A delegating Storage whose `failOpensOf(pattern, times, flags?)` makes the next `times` opens
 * of matching paths (with exactly `flags`, if given) fail with ENOSPC.
 */
export class FailingOpens extends DelegatingStorage {
  private pattern: RegExp | undefined;
  private flags: OpenFlags | undefined;
  private failuresLeft = 0;
  /** How many opens it has failed. */
  failedOpens = 0;

  failOpensOf(pattern: RegExp, times: number, flags?: OpenFlags): void {
    this.pattern = pattern;
    this.flags = flags;
    this.failuresLeft = times;
  }

  override open(path: string, flags: OpenFlags, mode?: number, options?: OpenOptions): Promise<FileHandle> {
    if (this.failuresLeft > 0 && this.pattern?.test(path) === true && (this.flags === undefined || this.flags === flags)) {
      this.failuresLeft -= 1;
      this.failedOpens += 1;
      return Promise.reject(new CarveError(ErrorCodes.ENOSPC, 'injected: no space left on device', { path }));
    }
    return super.open(path, flags, mode, options);
  }
}

type HandleCall = 'read' | 'append' | 'close';

/**
 * A delegating Storage whose `failNext(call, pattern)` makes the next `call` ('read', 'append' or
 * 'close') of a handle on a matching path fail with EIO, writing nothing. A close that fails has
 * closed the handle.
 */
export class FailingHandleCalls extends DelegatingStorage {
  private readonly patterns: Partial<Record<HandleCall, RegExp>> = {};
  /** How many calls of each kind it has failed. */
  readonly failed: Record<HandleCall, number> = { read: 0, append: 0, close: 0 };

  failNext(call: HandleCall, pattern: RegExp): void {
    this.patterns[call] = pattern;
  }

  protected override wrapHandle(handle: FileHandle): FileHandle {
    return new HandleThatMayFail(handle, this);
  }

  /** For its handles: throws the injected error if this call on `path` is to fail (once). */
  failIfChosen(call: HandleCall, path: string): void {
    if (this.patterns[call]?.test(path) !== true) return;
    delete this.patterns[call];
    this.failed[call] += 1;
    throw new CarveError(ErrorCodes.EIO, `injected: ${call} failed`, { path });
  }
}

/** A handle whose reads, appends and closes ask its FailingHandleCalls whether to fail. */
class HandleThatMayFail extends DelegatingFileHandle {
  constructor(
    inner: FileHandle,
    private readonly storage: FailingHandleCalls,
  ) {
    super(inner);
  }

  override async read(lengthBytes: number, positionBytes: number): Promise<Uint8Array> {
    this.storage.failIfChosen('read', this.path);
    return super.read(lengthBytes, positionBytes);
  }

  override async append(data: Uint8Array): Promise<number> {
    this.storage.failIfChosen('append', this.path);
    return super.append(data);
  }

  override async close(): Promise<void> {
    await super.close();
    this.storage.failIfChosen('close', this.path);
  }
}

/** Reopens the store `db` and checks that it holds `expected` (keys and values as latin1). */
export async function assertReopenedHolds(storage: Storage, expected: Record<string, string>): Promise<void> {
  const reopened = await KvStore.open(storage, 'db');
  try {
    for (const [key, value] of Object.entries(expected)) assert.equal(latin1(reopened.get(b(key))), value, `the value of ${key}`);
  } finally {
    await reopened.close();
  }
}
