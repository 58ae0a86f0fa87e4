/**
 * The engines of bench/kv.ts behind one interface: `put(key, value)` resolves once the commit
 * is durable (on stable storage as far as fdatasync/fsync can tell), and not before.
 *
 *   ceiling  a bare group-commit loop on node:fs: writers queue a record of the same size as
 *            Carve's log spends on a put (137 B for a 16 B key and a 100 B value); one flusher takes
 *            every queued record, writes them with one positional write and makes them durable
 *            with one fdatasync, one sync in flight at a time. No CRC, no index, no framing work:
 *            the most this disk and Node's fs can give with this commit shape.
 *   ceiling-prealloc-dsync  the same loop doing the I/O Carve's log does: the file opened O_DSYNC
 *            (one write per group, durable when it returns, no fdatasync call) and written into
 *            space preallocated with zeros (64 MiB, written and fsynced at open), so no write
 *            grows the file. The ceiling for Carve's own I/O strategy, reported beside the plain
 *            ceiling so that carve/ceiling is not read as Carve's overhead alone.
 *   carve    KvStore.open(NodeStorage, 'db') with the default durability ('sync'), from dist/ or
 *            src/ (bench/kv-carve.ts).
 *   sqlite   better-sqlite3, WAL, synchronous=FULL, one autocommit INSERT OR REPLACE per commit
 *            (a WITHOUT ROWID table keyed by the key blob). better-sqlite3 is synchronous: each
 *            commit blocks the event loop through its WAL fsync, so the writers take turns.
 *   level    classic-level, `put(key, value, { sync: true })`.
 *   lmdb     lmdb-js (overlappingSync, its default on Linux): `await db.put(...)` resolves when the
 *            transaction is committed and visible; the writer then awaits `db.flushed`, which
 *            resolves once that commit is synced.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import type { CarveModules } from './kv-carve.js';
import { loadLevel, loadLmdb, loadSqlite } from './kv-peers.js';

export const engineNames = ['carve', 'ceiling', 'ceiling-prealloc-dsync', 'sqlite', 'level', 'lmdb'] as const;
/**
 * Variants for profiling, never run by default (pick them with --engines):
 *   carve-none        KvStore with durability 'none' (no fdatasync): Carve's CPU-bound limit
 *   carve-log         Carve's own log and group commit (log-file.ts, group-commit.ts, the same
 *                     O_DSYNC writes into preallocated space, the same framing and CRC32C) with
 *                     nothing applied: the store minus its index, to tell what the index costs
 *   ceiling-dsync     the ceiling with the file opened O_DSYNC and no fdatasync call: one
 *                     write per group, durable when it returns (one thread-pool trip, not two)
 *   ceiling-prealloc  the ceiling writing into a file preallocated (zero-filled and fsynced) at
 *                     open, so no fdatasync has to commit a file-size change to the journal
 */
export const experimentalEngineNames = ['carve-none', 'carve-log', 'ceiling-dsync', 'ceiling-prealloc'] as const;
export type EngineName = (typeof engineNames)[number] | (typeof experimentalEngineNames)[number];

export interface CommitEngine {
  readonly name: EngineName;
  /** Resolves once the commit is durable. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Commit grouping after a run, where the engine exposes it. */
  groups?(): { groups: number; commits: number };
}

/** Checks that an engine can be loaded (its package is installed) before any run starts. */
export function checkEngineAvailable(name: EngineName): void {
  if (name === 'sqlite') loadSqlite();
  else if (name === 'level') loadLevel();
  else if (name === 'lmdb') loadLmdb();
}

let carveModules: CarveModules | undefined;

/** Sets where Carve comes from (dist/ or src/, see bench/kv-carve.ts) for the carve engines. */
export function useCarve(modules: CarveModules): void {
  carveModules = modules;
}

export async function openEngine(name: EngineName, dir: string): Promise<CommitEngine> {
  switch (name) {
    case 'carve':
    case 'carve-none':
      return openCarve(dir, name);
    case 'carve-log':
      return openCarveLog(dir);
    case 'ceiling':
    case 'ceiling-dsync':
    case 'ceiling-prealloc':
    case 'ceiling-prealloc-dsync':
      return openCeiling(dir, name);
    case 'sqlite':
      return openSqlite(dir);
    case 'level':
      return openLevel(dir);
    case 'lmdb':
      return openLmdb(dir);
  }
}

function requireCarve(): CarveModules {
  if (carveModules === undefined) throw new Error('bench/kv-engines: useCarve() was not called');
  return carveModules;
}

async function openCarve(dir: string, name: 'carve' | 'carve-none'): Promise<CommitEngine> {
  const carve = requireCarve();
  const storage = await carve.NodeStorage.open(dir);
  const store = await carve.KvStore.open(storage, 'db', { durability: name === 'carve-none' ? 'none' : 'sync' });
  const start = { ...store.stats };
  return {
    name,
    put: (key, value) => store.put(key, value),
    close: () => store.close(),
    groups: () => ({ groups: store.stats.groups - start.groups, commits: store.stats.commits - start.commits }),
  };
}

/** Carve's log path alone: each put is framed, written and synced as the store does, then dropped. */
async function openCarveLog(dir: string): Promise<CommitEngine> {
  const carve = requireCarve();
  const storage = await carve.NodeStorage.open(dir);
  await storage.mkdir('db');
  const log = await carve.createLog(storage, 'db', 1, Math.random, { durableBytes: 0, writtenBytes: 0 }, carve.logWritingFor('sync'));
  const committer = new carve.GroupCommitter(log, 'sync', () => undefined);
  let sequence = 0;
  return {
    name: 'carve-log',
    put(key, value) {
      const changes = [carve.bytesToLatin1(key), carve.bytesToLatin1(value)];
      sequence += 1;
      return committer.commit(sequence, changes, carve.batchBytesOf(changes));
    },
    close: async () => {
      await committer.drain();
      await carve.closeLog(committer.activeLog);
    },
    groups: () => ({ groups: committer.stats.groups, commits: committer.stats.commits }),
  };
}

/**
 * Bytes of Carve's log for one put: its batch (header 12, op 1+4+key+4+value); a group of
 * commits shares one 24-byte record header, left out here.
 */
function carveBatchBytes(keyBytes: number, valueBytes: number): number {
  return 12 + 1 + 4 + keyBytes + 4 + valueBytes;
}

/** Headroom kept before the end of a preallocated file (a group is at most this big in practice). */
const maxGroupGuess = 4 * 2 ** 20;

interface Pending {
  readonly record: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const preallocatedBytes = 64 * 2 ** 20;

async function openCeiling(
  dir: string,
  name: 'ceiling' | 'ceiling-dsync' | 'ceiling-prealloc' | 'ceiling-prealloc-dsync',
): Promise<CommitEngine> {
  const dsync = name === 'ceiling-dsync' || name === 'ceiling-prealloc-dsync';
  const prealloc = name === 'ceiling-prealloc' || name === 'ceiling-prealloc-dsync';
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | (dsync ? fsConstants.O_DSYNC : 0);
  const handle = await fs.open(join(dir, 'ceiling.log'), flags);
  if (prealloc) {
    const zeros = Buffer.alloc(4 * 2 ** 20);
    for (let at = 0; at < preallocatedBytes; at += zeros.length) await handle.write(zeros, 0, zeros.length, at);
    await handle.sync();
  }
  let queue: Pending[] = [];
  let flushing = false;
  let position = 0;
  let groups = 0;
  let commits = 0;

  const flushLoop = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const group = queue;
        queue = [];
        const data = group.length === 1 ? group[0]!.record : Buffer.concat(group.map((pending) => pending.record));
        try {
          let written = 0;
          while (written < data.length) {
            const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
            written += bytesWritten;
          }
          position += data.length;
          if (prealloc && position + maxGroupGuess > preallocatedBytes) position = 0; // wrap; stays allocated
          if (!dsync) await handle.datasync();
        } catch (error) {
          for (const pending of group) pending.reject(error);
          continue;
        }
        groups += 1;
        commits += group.length;
        for (const pending of group) pending.resolve();
      }
    } finally {
      flushing = false;
    }
  };

  return {
    name,
    put(key, value) {
      // The same bytes per commit as Carve's batch; only the key and value are copied in, where
      // the batch has them (after its 12-byte header and the op's type and key length).
      const record = Buffer.allocUnsafe(carveBatchBytes(key.length, value.length));
      record.set(key, 17);
      record.set(value, 17 + key.length + 4);
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, resolve, reject });
        if (!flushing) {
          flushing = true;
          void flushLoop();
        }
      });
    },
    close: () => handle.close(),
    groups: () => ({ groups, commits }),
  };
}

async function openSqlite(dir: string): Promise<CommitEngine> {
  const Database = loadSqlite();
  const db = new Database(join(dir, 'kv.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const mode = db.pragma('journal_mode', { simple: true });
  const synchronous = db.pragma('synchronous', { simple: true });
  if (mode !== 'wal' || synchronous !== 2) throw new Error(`sqlite: expected WAL + synchronous=FULL(2), got ${String(mode)} + ${String(synchronous)}`);
  db.exec('CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
  const insert = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
  return {
    name: 'sqlite',
    put(key, value) {
      insert.run(key, value); // autocommit: one transaction, one WAL fsync
      return Promise.resolve();
    },
    close: async () => db.close(),
  };
}

async function openLevel(dir: string): Promise<CommitEngine> {
  const ClassicLevel = loadLevel();
  const db = new ClassicLevel(join(dir, 'level'), { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const sync = { sync: true };
  return {
    name: 'level',
    put: (key, value) => db.put(key, value, sync),
    close: () => db.close(),
  };
}

async function openLmdb(dir: string): Promise<CommitEngine> {
  const open = loadLmdb();
  const db = open({ path: join(dir, 'lmdb.mdb'), keyEncoding: 'binary', encoding: 'binary' });
  return {
    name: 'lmdb',
    async put(key, value) {
      await db.put(key, value); // committed and visible
      await db.flushed; // durable
    },
    close: () => db.close(),
  };
}
