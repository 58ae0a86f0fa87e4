/**
 * JournalWriter: one writer's durable appends to a journal shared by many processes.
 *
 * An append resolves only once its entry is durable: entries queued while a block is being
 * written and synced form the next block (group commit, no artificial delay, one fdatasync in
 * flight per writer), written with ONE O_APPEND write call, so blocks of different processes
 * never interleave, then made durable by one fdatasync. Each sync seals a block. If the writer
 * cannot find its block afterwards (the file was truncated or rewritten under it), the block's
 * appends fail although they may be durable, and so does everything after.
 *
 * The multi-writer chain. Writers do not know each other's latest entries when they write, so
 * there is no single chain of blocks. Instead each block's seal commits to three things:
 *  1. its own writer's chain: the previous block's chain value (SHA-256 of its seal body), the
 *     block seq and the entry seqs, and the SHA-256 of each of its entries;
 *  2. where that previous block is: its exact file offset (after each write the writer reads
 *     on from its frontier and finds its own block's bytes, which are unique; this read runs
 *     alongside the fdatasync and also hashes the next frontier);
 *  3. everyone else's history: a durable frontier F and the SHA-256 of bytes [0, F). F is the
 *     end of the writer's previous block (appends to one file are serialised, so everything
 *     before it was written before that block's write returned, and that block's fdatasync
 *     made it durable), or for a first block the file's size when the writer opened it and
 *     synced it. Bytes below F never change again.
 * Verification replays the file in order: a change, deletion or reordering of an entry breaks
 * its checksum, its seal's hash list, its writer's chain (seqs, chain value, offset), or the
 * frontier digest of every later block whose frontier lies past it. What cannot be detected
 * is what nothing commits to yet: the newest blocks of the file (as with any log, pin the head
 * elsewhere to protect it), and bytes changed before any block sealed them.
 *
 * Torn records: a power cut can leave any unsynced block torn, lost or zero-filled, and with
 * O_APPEND that can be in the middle of the file, followed by another process's whole blocks.
 * Readers resynchronise at the next valid record and set such bytes aside. They cannot hide an
 * acknowledged entry: a block is acknowledged only after its fdatasync, which also made every
 * byte before F durable, and the writer's next block and every later frontier prove it.
 *
 * A failed write or sync fails this writer for good (REFERENCES §5.3: never retry into
 * success); the journal itself needs no repair, readers set the torn block aside.
 */
import { randomBytes } from 'node:crypto';
import { CarveError, ErrorCodes, assert, messageOf } from '../errors.js';
import type { FileHandle, Storage } from '../storage/storage.js';
import { buildBlock } from './block.js';
import { maxEntryBytes } from './format.js';
import { FrontierHasher } from './frontier.js';
import { openJournalFile } from './open.js';
import { checkWriterId, zeroHash } from './records.js';

export type JournalSync =
  /** fdatasync before acknowledging: the only durable choice, and the default. */
  | 'datasync'
  /** Acknowledge once written to the page cache. Exists only as the lab's naive variant. */
  | 'none';

export interface JournalWriterOptions {
  /** The writer's name; its id is `name-<8 hex>`, new for every session, so each has its own chain. Default 'writer'. */
  name?: string;
  /** The exact writer id, instead of name and suffix. Must never be used by two sessions. */
  writerId?: string;
  /** Source of the id suffix (injectable for deterministic runs); default 4 random bytes in hex. */
  randomSuffix?: () => string;
  sync?: JournalSync;
  /** Most entries in one block (default 256). */
  maxBlockEntries?: number;
  /** Most payload bytes in one block; a larger single entry still gets a block of its own (default 1 MiB). */
  maxBlockPayloadBytes?: number;
  /** Most appends waiting for a block; more fail with E_QUEUE_FULL (default 65536). */
  maxQueuedEntries?: number;
}

export interface AppendAck {
  readonly writer: string;
  readonly seq: number;
  readonly writerBlock: number;
  /** File offset of the entry's record. */
  readonly offset: number;
}

export interface JournalWriterStats {
  blocks: number;
  entries: number;
  syncs: number;
}

interface Queued {
  readonly data: Uint8Array;
  readonly resolve: (ack: AppendAck) => void;
  readonly reject: (error: unknown) => void;
}

export class JournalWriter {
  readonly writerId: string;
  readonly path: string;
  readonly stats: JournalWriterStats = { blocks: 0, entries: 0, syncs: 0 };
  private readonly queue: Queued[] = [];
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private closing = false;
  private closed = false;
  private failure: CarveError | undefined;
  private nextSeq = 1;
  private nextBlockSeq = 1;
  private prevChain: Uint8Array = zeroHash;
  private prevBlockOffset = 0;

  private constructor(
    path: string,
    writerId: string,
    private readonly appendHandle: FileHandle,
    private readonly readHandle: FileHandle,
    private readonly hasher: FrontierHasher,
    private readonly sync: JournalSync,
    private readonly limits: { blockEntries: number; blockPayloadBytes: number; queuedEntries: number },
  ) {
    this.path = path;
    this.writerId = writerId;
  }

  /** Opens (creating if needed) the journal at `path` for appending; see open.ts for what holds on return. */
  static async open(storage: Storage, path: string, options: JournalWriterOptions = {}): Promise<JournalWriter> {
    const writerId = checkWriterId(
      options.writerId ?? `${options.name ?? 'writer'}-${(options.randomSuffix ?? (() => randomBytes(4).toString('hex')))()}`,
    );
    const limits = {
      blockEntries: positive(options.maxBlockEntries ?? 256, 'maxBlockEntries'),
      blockPayloadBytes: positive(options.maxBlockPayloadBytes ?? 1024 * 1024, 'maxBlockPayloadBytes'),
      queuedEntries: positive(options.maxQueuedEntries ?? 65536, 'maxQueuedEntries'),
    };
    const sync = options.sync ?? 'datasync';
    if (sync !== 'datasync' && sync !== 'none') {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `unknown journal sync mode '${String(sync)}'`, { path });
    }
    const { appendHandle, readHandle, existing } = await openJournalFile(storage, path);
    const hasher = new FrontierHasher(readHandle);
    hasher.feed(existing);
    return new JournalWriter(path, writerId, appendHandle, readHandle, hasher, sync, limits);
  }

  /** Appends one entry; resolves once it is durable, with its writer id, seq and offset. */
  append(data: Uint8Array): Promise<AppendAck> {
    if (this.closing) return Promise.reject(new CarveError(ErrorCodes.HANDLE_CLOSED, 'journal writer is closed', { path: this.path }));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!(data instanceof Uint8Array) || data.length > maxEntryBytes) {
      return Promise.reject(
        new CarveError(ErrorCodes.INVALID_ARGUMENT, `an entry is a Uint8Array of at most ${maxEntryBytes} bytes`, { path: this.path }),
      );
    }
    if (this.queue.length >= this.limits.queuedEntries) {
      return Promise.reject(
        new CarveError(ErrorCodes.QUEUE_FULL, `${this.queue.length} appends already wait for a block`, { path: this.path }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ data: data.slice(), resolve, reject });
      this.kick();
    });
  }

  /** Waits for every queued append to finish, then closes the file. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    await this.flushed;
    if (this.closed) return;
    this.closed = true;
    await this.readHandle.close();
    await this.appendHandle.close();
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.flushed = this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      await Promise.resolve(); // Appends issued in the same turn as the first join its block.
      while (this.queue.length > 0 && this.failure === undefined) await this.flushBlock();
    } finally {
      this.flushing = false;
    }
  }

  private async flushBlock(): Promise<void> {
    const group = this.takeGroup(); // Everything queued while the previous block was written and synced.
    const firstSeq = this.nextSeq;
    const block = buildBlock({
      writer: this.writerId,
      blockSeq: this.nextBlockSeq,
      firstSeq,
      prevChain: this.prevChain,
      prevBlockOffset: this.prevBlockOffset,
      frontierBytes: this.hasher.hashedUpToBytes,
      frontierDigest: this.hasher.digest(),
      payloads: group.map((queued) => queued.data),
    });
    let located: Promise<number>;
    try {
      await this.appendHandle.append(block.bytes);
      // Finding the block (and hashing the next frontier through its end) only reads: it runs
      // alongside the fdatasync, off the acknowledgement's path.
      located = this.hasher.hashThroughOwnBlock(block.bytes);
      located.catch(() => undefined);
      if (this.sync === 'datasync') {
        await this.appendHandle.datasync();
        this.stats.syncs += 1;
      }
    } catch (error) {
      this.fail(error, group);
      return;
    }
    this.nextSeq += group.length;
    const writerBlock = this.nextBlockSeq;
    this.nextBlockSeq += 1;
    this.stats.blocks += 1;
    this.stats.entries += group.length;
    let blockOffset: number;
    try {
      blockOffset = await located;
    } catch (error) {
      // The block is durable, but this writer cannot chain to it: it takes no more appends.
      group.forEach((queued) => queued.reject(error));
      this.fail(error, []);
      return;
    }
    this.prevChain = block.chain;
    this.prevBlockOffset = blockOffset;
    group.forEach((queued, i) =>
      queued.resolve({ writer: this.writerId, seq: firstSeq + i, writerBlock, offset: blockOffset + block.entryOffsets[i]! }),
    );
  }

  private takeGroup(): Queued[] {
    let payloadBytes = 0;
    let count = 0;
    for (const queued of this.queue) {
      if (count === this.limits.blockEntries) break;
      if (count > 0 && payloadBytes + queued.data.length > this.limits.blockPayloadBytes) break;
      payloadBytes += queued.data.length;
      count += 1;
    }
    assert(count > 0, 'a block holds at least one entry');
    return this.queue.splice(0, count);
  }

  private fail(error: unknown, group: readonly Queued[]): void {
    const cause = messageOf(error);
    this.failure = new CarveError(
      ErrorCodes.JOURNAL_FAILED,
      `a journal write or sync failed (${cause}); this writer takes no more appends: open a new one`,
      { path: this.path, cause: error },
    );
    for (const queued of group) queued.reject(error instanceof CarveError ? error : this.failure);
    for (const queued of this.queue.splice(0)) queued.reject(this.failure);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
