/**
 * The peer engines of bench/kv.ts (better-sqlite3, classic-level, lmdb), loaded from
 * bench/node_modules. They are not dependencies of carve: `npm run bench:setup` installs them
 * from bench/package.json. Only the few calls the benchmark makes are typed here, so the
 * project typechecks without them installed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  iterate(...params: unknown[]): IterableIterator<unknown>;
}
export interface SqliteDatabase {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
  prepare(source: string): SqliteStatement;
  close(): void;
}
export type SqliteConstructor = new (filename: string) => SqliteDatabase;

export interface LevelDatabase {
  open(): Promise<void>;
  put(key: Uint8Array, value: Uint8Array, options?: { sync?: boolean }): Promise<void>;
  close(): Promise<void>;
}
export type LevelConstructor = new (location: string, options: { keyEncoding: string; valueEncoding: string }) => LevelDatabase;

export interface LmdbDatabase {
  put(key: Uint8Array, value: Uint8Array): Promise<boolean>;
  putSync(key: Uint8Array, value: Uint8Array): void;
  get(key: Uint8Array): Uint8Array | undefined;
  getRange(options?: { start?: Uint8Array; limit?: number }): Iterable<{ key: Uint8Array; value: Uint8Array }>;
  transactionSync<T>(action: () => T): T;
  readonly flushed: PromiseLike<boolean>;
  close(): Promise<void>;
}
export type LmdbOpen = (options: { path: string; keyEncoding: 'binary'; encoding: 'binary' }) => LmdbDatabase;

export type PeerName = 'sqlite' | 'level' | 'lmdb';

const packageOf: Readonly<Record<PeerName, string>> = {
  sqlite: 'better-sqlite3',
  level: 'classic-level',
  lmdb: 'lmdb',
};

// Anchored at bench/package.json, so resolution starts in bench/node_modules.
const benchRequire = createRequire(new URL('./package.json', import.meta.url));

export class PeersMissingError extends Error {}

function load(peer: PeerName): unknown {
  const name = packageOf[peer];
  try {
    return benchRequire(name);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new PeersMissingError(
        `bench/kv: the peer engine '${name}' is not installed in bench/node_modules.\n` +
          `Run \`npm run bench:setup\` once (it installs better-sqlite3, classic-level and lmdb from bench/package.json),\n` +
          `or leave the peers out with \`--engines carve,ceiling\`.`,
      );
    }
    throw error;
  }
}

export function loadSqlite(): SqliteConstructor {
  return load('sqlite') as SqliteConstructor;
}

export function loadLevel(): LevelConstructor {
  return (load('level') as { ClassicLevel: LevelConstructor }).ClassicLevel;
}

export function loadLmdb(): LmdbOpen {
  return (load('lmdb') as { open: LmdbOpen }).open;
}

/** Package versions as installed, for the report header. */
export function peerVersion(peer: PeerName): string {
  try {
    // Read from disk: lmdb's "exports" map does not expose its package.json to require.
    const path = new URL(`./node_modules/${packageOf[peer]}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}
