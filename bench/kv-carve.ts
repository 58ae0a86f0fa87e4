/**
 * Where bench/kv.ts takes Carve from: the compiled package in dist/ (what users run; `npm ci`
 * builds it, or `npm run build`), or the TypeScript sources in src/ through tsx.
 *
 * The difference is not only staleness: tsx compiles with esbuild's keepNames, which wraps every
 * named inner function in a `__name(fn, "name")` call each time it is created. decodeBatch
 * creates one (`malformed`) per call, which makes it about 3× slower under tsx (0.9 µs against
 * 0.3 µs per call here), and it runs once per commit. So `auto` (the default) uses dist/ when it
 * is at least as new as every source file it is built from, and src/ otherwise, with a note.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type StoreModule = typeof import('../src/kv/store.js');
type NodeStorageModule = typeof import('../src/storage/node.js');
type BatchCodecModule = typeof import('../src/kv/batch-codec.js');
type BytesModule = typeof import('../src/kv/bytes.js');
type LogFormatModule = typeof import('../src/kv/log-format.js');
type LogFileModule = typeof import('../src/kv/log-file.js');
type GroupCommitModule = typeof import('../src/kv/group-commit.js');
type CommitEncodingModule = typeof import('../src/kv/commit-encoding.js');

export interface CarveModules {
  readonly from: 'dist' | 'src';
  readonly KvStore: StoreModule['KvStore'];
  readonly NodeStorage: NodeStorageModule['NodeStorage'];
  readonly encodeBatch: BatchCodecModule['encodeBatch'];
  readonly encodedBatchBytes: BatchCodecModule['encodedBatchBytes'];
  readonly decodeBatch: BatchCodecModule['decodeBatch'];
  readonly bytesToLatin1: BytesModule['bytesToLatin1'];
  readonly encodeRecord: LogFormatModule['encodeRecord'];
  readonly createLog: LogFileModule['createLog'];
  readonly closeLog: LogFileModule['closeLog'];
  readonly GroupCommitter: GroupCommitModule['GroupCommitter'];
  readonly batchBytesOf: CommitEncodingModule['batchBytesOf'];
  readonly logWritingFor: LogFileModule['logWritingFor'];
}

export type CarveFrom = 'auto' | 'dist' | 'src';

const repoDir = dirname(dirname(fileURLToPath(import.meta.url)));
const sourceDirs = ['kv', 'storage', 'durable'];

/** Source files whose compiled form is missing from dist/ or older than the source. */
export function staleDistFiles(): string[] {
  const sources = [join(repoDir, 'src', 'errors.ts')];
  for (const dir of sourceDirs) {
    const full = join(repoDir, 'src', dir);
    if (!existsSync(full)) continue;
    for (const name of readdirSync(full)) if (name.endsWith('.ts') && !name.endsWith('.d.ts')) sources.push(join(full, name));
  }
  return sources
    .filter((source) => {
      const compiled = join(repoDir, 'dist', relative(join(repoDir, 'src'), source)).replace(/\.ts$/, '.js');
      return !existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs;
    })
    .map((source) => relative(repoDir, source));
}

/** Resolves `auto`; returns the choice and, when it differs from what was asked, why. */
export function chooseCarve(requested: CarveFrom): { from: 'dist' | 'src'; note: string | undefined } {
  if (requested === 'src') return { from: 'src', note: undefined };
  const stale = staleDistFiles();
  if (requested === 'dist') {
    return { from: 'dist', note: stale.length === 0 ? undefined : `dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}…); run \`npm run build\`` };
  }
  if (stale.length === 0) return { from: 'dist', note: undefined };
  return {
    from: 'src',
    note:
      `dist/ is missing or older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}); ` +
      'measuring src/ through tsx, which slows Carve a little (see bench/kv-carve.ts). Run `npm run build` to measure dist/.',
  };
}

/** One module of Carve (`path` under src/, without extension), from dist/ or src/. */
export async function loadCarveModule<T>(from: 'dist' | 'src', path: string): Promise<T> {
  const file = from === 'dist' ? join(repoDir, 'dist', `${path}.js`) : join(repoDir, 'src', `${path}.ts`);
  return (await import(pathToFileURL(file).href)) as T;
}

export async function loadCarve(from: 'dist' | 'src'): Promise<CarveModules> {
  const load = <T>(path: string): Promise<T> => loadCarveModule<T>(from, path);
  const [store, storage, codec, bytes, logFormat, logFile, groupCommit, commitEncoding] = await Promise.all([
    load<StoreModule>('kv/store'),
    load<NodeStorageModule>('storage/node'),
    load<BatchCodecModule>('kv/batch-codec'),
    load<BytesModule>('kv/bytes'),
    load<LogFormatModule>('kv/log-format'),
    load<LogFileModule>('kv/log-file'),
    load<GroupCommitModule>('kv/group-commit'),
    load<CommitEncodingModule>('kv/commit-encoding'),
  ]);
  return {
    from,
    KvStore: store.KvStore,
    NodeStorage: storage.NodeStorage,
    encodeBatch: codec.encodeBatch,
    encodedBatchBytes: codec.encodedBatchBytes,
    decodeBatch: codec.decodeBatch,
    bytesToLatin1: bytes.bytesToLatin1,
    encodeRecord: logFormat.encodeRecord,
    createLog: logFile.createLog,
    closeLog: logFile.closeLog,
    GroupCommitter: groupCommit.GroupCommitter,
    batchBytesOf: commitEncoding.batchBytesOf,
    logWritingFor: logFile.logWritingFor,
  };
}
