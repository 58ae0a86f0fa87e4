/**
 * SimStorage (no crash) behaves exactly like NodeStorage on the real disk. fast-check
 * generates random sequences of up to 30 storage operations over a small namespace (files
 * 'a', 'b', 'c' in the root and 'a', 'b' in a subdirectory 'd') and runs each sequence in
 * lockstep on a fresh NodeStorage (temporary directory) and a fresh SimStorage. It guarantees
 * that every operation returns the same value (bytes read, byte counts, names, stats) or fails
 * with the same error code, and that both trees end identical: paths, kinds, sizes, modes and
 * contents. The seed is fixed, so every run checks the same sequences.
 *
 * Linux behaviour that the contract deliberately leaves unspecified is kept out of the
 * namespace: only the files are opened (never a directory), only 'd' is made a directory, and
 * a directory is never renamed. A file may still be renamed onto 'd', and 'd' may be unlinked,
 * so the codes for a file where a directory is expected (and the reverse) are compared.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import fc from 'fast-check';
import { CarveError } from '../../src/errors.js';
import { NodeStorage } from '../../src/storage/node.js';
import type { FileHandle, OpenFlags, Storage } from '../../src/storage/storage.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { DelegatingStorage } from '../../src/storage/delegating.js';
import { walkTree } from '../support/storage-tree.js';

// ---------------------------------------------------------------------------------------------
// The namespace and the commands.

const filePaths = ['a', 'b', 'c', 'd/a', 'd/b'] as const;
const directoryPath = 'd';
/** Everything an operation on an existing entry may name. */
const entryPaths = [...filePaths, directoryPath] as const;
/** Everything a directory operation may name, the root included. */
const listPaths = ['', ...entryPaths] as const;
const flagValues: OpenFlags[] = ['r', 'r+', 'w', 'w+', 'wx', 'wx+', 'a', 'a+', 'ax', 'ax+'];
/** Valid modes a umask of 022 leaves alone, and one invalid mode. */
const chmodModes = [0o600, 0o644, 0o755, 0o700, 0o400, 0o000, 0o1000];

/** Data to write: `lengthBytes` bytes of a pattern that never contains a zero byte. */
interface Data {
  lengthBytes: number;
  seed: number;
}

type Command =
  /** A whole file in one step: open 'w', write at 0, close. */
  | { op: 'create'; path: string; data: Data }
  | { op: 'open'; path: string; flags: OpenFlags; mode: number | undefined }
  | { op: 'write'; handle: number; positionBytes: number; data: Data }
  | { op: 'append'; handle: number; data: Data }
  | { op: 'read'; handle: number; positionBytes: number; lengthBytes: number }
  | { op: 'truncate'; handle: number; sizeBytes: number }
  | { op: 'sync' | 'datasync' | 'fstat' | 'close'; handle: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'unlink' | 'rmdir' | 'stat' | 'readdir' | 'syncDir'; path: string }
  | { op: 'mkdir'; path: string; mode: number | undefined }
  | { op: 'chmod'; path: string; mode: number };

const handleArb = fc.nat({ max: 7 });
const dataArb = fc.record({ lengthBytes: fc.nat({ max: 3000 }), seed: fc.nat({ max: 254 }) });
const positionArb = fc.nat({ max: 5000 });

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('create' as const), path: fc.constantFrom(...filePaths), data: dataArb }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('open' as const),
      path: fc.constantFrom(...filePaths),
      flags: fc.constantFrom(...flagValues),
      mode: fc.constantFrom(undefined, 0o600, 0o644),
    }),
  },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), handle: handleArb, positionBytes: positionArb, data: dataArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('append' as const), handle: handleArb, data: dataArb }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('read' as const), handle: handleArb, positionBytes: positionArb, lengthBytes: positionArb }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), handle: handleArb, sizeBytes: positionArb }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constantFrom('sync' as const, 'datasync' as const, 'fstat' as const, 'close' as const), handle: handleArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('rename' as const), from: fc.constantFrom(...filePaths), to: fc.constantFrom(...entryPaths) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('unlink' as const, 'rmdir' as const), path: fc.constantFrom(...entryPaths) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constantFrom('stat' as const, 'readdir' as const, 'syncDir' as const), path: fc.constantFrom(...listPaths) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: fc.constant(directoryPath), mode: fc.constantFrom(undefined, 0o700, 0o755) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path: fc.constantFrom(...entryPaths), mode: fc.constantFrom(...chmodModes) }) },
);

// ---------------------------------------------------------------------------------------------
// Running a command and describing its result in a comparable form.

function patternBytes({ lengthBytes, seed }: Data): Uint8Array {
  const data = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) data[i] = 1 + ((seed + i * 31) % 255);
  return data;
}

/** Length, hash and the layout of zero runs (holes), so two results compare and a diff reads well. */
function describeBytes(data: Uint8Array): string {
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 12);
  const runs: string[] = [];
  let start = 0;
  for (let i = 1; i <= data.length; i++) {
    if (i === data.length || (data[i] === 0) !== (data[start] === 0)) {
      runs.push(`${data[start] === 0 ? 'zero' : 'data'}[${start},${i})`);
      start = i;
    }
  }
  const layout = runs.length > 6 ? [...runs.slice(0, 6), `…${runs.length - 6} more`] : runs;
  return `${data.length} bytes sha256:${hash} ${layout.join(' ')}`.trimEnd();
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'ok';
  if (typeof value === 'number') return `ok ${value}`;
  if (value instanceof Uint8Array) return `ok ${describeBytes(value)}`;
  if (Array.isArray(value)) return `ok [${value.join(', ')}]`;
  if (typeof value === 'object' && value !== null && 'kind' in value) {
    const stat = value as { kind: string; sizeBytes: number; mode: number };
    return `ok ${stat.kind} ${stat.sizeBytes} bytes mode 0o${stat.mode.toString(8)}`;
  }
  if (typeof value === 'object' && value !== null && 'flags' in value) return 'ok handle';
  return `ok ${String(value)}`;
}

function describeError(error: unknown): string {
  if (error instanceof CarveError) return `error ${error.code}`;
  return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
}

/** One side of the lockstep run: a storage and the handles its opens returned. */
class Side {
  readonly handles: FileHandle[] = [];

  constructor(readonly storage: Storage) {}

  /** Runs one command; 'no handle' when it needs a handle and none was opened yet. */
  async run(command: Command): Promise<string> {
    const handle = 'handle' in command ? this.handles[command.handle % Math.max(this.handles.length, 1)] : undefined;
    if ('handle' in command && handle === undefined) return 'no handle';
    try {
      const value = await this.execute(command, handle as FileHandle);
      if (command.op === 'open') this.handles.push(value as FileHandle);
      return describeValue(value);
    } catch (error) {
      return describeError(error);
    }
  }

  private async execute(command: Command, handle: FileHandle): Promise<unknown> {
    const s = this.storage;
    switch (command.op) {
      case 'create': {
        const created = await s.open(command.path, 'w');
        try {
          return await created.write(patternBytes(command.data), 0);
        } finally {
          await created.close();
        }
      }
      case 'open':
        return command.mode === undefined ? s.open(command.path, command.flags) : s.open(command.path, command.flags, command.mode);
      case 'write':
        return handle.write(patternBytes(command.data), command.positionBytes);
      case 'append':
        return handle.append(patternBytes(command.data));
      case 'read':
        return handle.read(command.lengthBytes, command.positionBytes);
      case 'truncate':
        return handle.truncate(command.sizeBytes);
      case 'sync':
        return handle.sync();
      case 'datasync':
        return handle.datasync();
      case 'fstat':
        return handle.stat();
      case 'close':
        return handle.close();
      case 'rename':
        return s.rename(command.from, command.to);
      case 'unlink':
        return s.unlink(command.path);
      case 'rmdir':
        return s.rmdir(command.path);
      case 'stat':
        return s.stat(command.path);
      case 'readdir':
        return s.readdir(command.path);
      case 'syncDir':
        return s.syncDir(command.path);
      case 'mkdir':
        return command.mode === undefined ? s.mkdir(command.path) : s.mkdir(command.path, command.mode);
      case 'chmod':
        return s.chmod(command.path, command.mode);
    }
  }

  /** Closes every handle, describing each result (a handle closed by a command reports E_HANDLE_CLOSED). */
  async closeAll(): Promise<string[]> {
    const results: string[] = [];
    for (const handle of this.handles) {
      try {
        await handle.close();
        results.push('ok');
      } catch (error) {
        results.push(describeError(error));
      }
    }
    return results;
  }

  /** Every entry under `directory`: path, kind, size, mode and (for files) contents. */
  async tree(): Promise<string[]> {
    const lines: string[] = [];
    for await (const { path, stat } of walkTree(this.storage)) {
      if (stat.kind === 'directory') {
        lines.push(`${path}/ mode 0o${stat.mode.toString(8)}`);
        continue;
      }
      const handle = await this.storage.open(path, 'r');
      let content: Uint8Array;
      try {
        content = await handle.read(stat.sizeBytes + 1, 0);
      } finally {
        await handle.close();
      }
      lines.push(`${path} ${stat.sizeBytes} bytes mode 0o${stat.mode.toString(8)}: ${describeBytes(content)}`);
    }
    return lines;
  }
}

function describeCommand(command: Command): string {
  const data = (d: Data): string => `<${d.lengthBytes} bytes, seed ${d.seed}>`;
  const mode = (m: number | undefined): string => (m === undefined ? '' : `, 0o${m.toString(8)}`);
  switch (command.op) {
    case 'create':
      return `create('${command.path}', ${data(command.data)})`;
    case 'open':
      return `open('${command.path}', '${command.flags}'${mode(command.mode)})`;
    case 'write':
      return `h[${command.handle}].write(${data(command.data)}, ${command.positionBytes})`;
    case 'append':
      return `h[${command.handle}].append(${data(command.data)})`;
    case 'read':
      return `h[${command.handle}].read(${command.lengthBytes}, ${command.positionBytes})`;
    case 'truncate':
      return `h[${command.handle}].truncate(${command.sizeBytes})`;
    case 'sync':
    case 'datasync':
    case 'close':
      return `h[${command.handle}].${command.op}()`;
    case 'fstat':
      return `h[${command.handle}].stat()`;
    case 'rename':
      return `rename('${command.from}', '${command.to}')`;
    case 'mkdir':
      return `mkdir('${command.path}'${mode(command.mode)})`;
    case 'chmod':
      return `chmod('${command.path}'${mode(command.mode)})`;
    default:
      return `${command.op}('${command.path}')`;
  }
}

// ---------------------------------------------------------------------------------------------
// The lockstep run.

interface Subject {
  storage: Storage;
  cleanup: () => Promise<void>;
}

/** A NodeStorage in a fresh temporary directory whose mode is `rootMode`. */
async function makeNodeStorage(rootMode: number): Promise<Subject> {
  const base = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'carve-property-'));
  await fs.chmod(base, rootMode);
  return { storage: await NodeStorage.open(base), cleanup: () => fs.rm(base, { recursive: true, force: true }) };
}

/** Runs `commands` on both storages in lockstep; fails at the first differing result or tree. */
async function runOnBoth(
  makeReference: (rootMode: number) => Promise<Subject>,
  makeCandidate: () => Promise<Subject>,
  commands: Command[],
): Promise<void> {
  const candidateSubject = await makeCandidate();
  // The roots start alike: the reference root gets the candidate root's mode.
  const referenceSubject = await makeReference((await candidateSubject.storage.stat('')).mode);
  const reference = new Side(referenceSubject.storage);
  const candidate = new Side(candidateSubject.storage);
  const trace: string[] = [];
  const fail = (what: string, referenceResult: unknown, candidateResult: unknown): never =>
    assert.fail(
      [
        `${what} differs`,
        `  ${referenceSubject.storage.description}: ${String(referenceResult)}`,
        `  ${candidateSubject.storage.description}: ${String(candidateResult)}`,
        'trace (result, or reference | candidate where they differ):',
        ...trace.map((line) => `  ${line}`),
      ].join('\n'),
    );
  try {
    for (const command of commands) {
      const referenceResult = await reference.run(command);
      const candidateResult = await candidate.run(command);
      let label = describeCommand(command);
      if (command.op === 'open' && referenceResult === 'ok handle') label = `h[${reference.handles.length - 1}] = ${label}`;
      trace.push(`${label} -> ${referenceResult}${referenceResult === candidateResult ? '' : ` | ${candidateResult}`}`);
      if (referenceResult !== candidateResult) fail(label, referenceResult, candidateResult);
    }

    const referenceCloses = await reference.closeAll();
    const candidateCloses = await candidate.closeAll();
    if (referenceCloses.join() !== candidateCloses.join()) fail('closing the handles left open', referenceCloses, candidateCloses);

    const referenceTree = await reference.tree();
    const candidateTree = await candidate.tree();
    if (referenceTree.join('\n') !== candidateTree.join('\n')) {
      fail('the final tree', `\n    ${referenceTree.join('\n    ')}`, `\n    ${candidateTree.join('\n    ')}`);
    }
  } finally {
    await reference.closeAll();
    await candidate.closeAll();
    await referenceSubject.cleanup();
    await candidateSubject.cleanup();
  }
}

/**
 * A sequence: a random starting tree (maybe 'd', some files), then up to 30 random commands.
 * The starting tree is built with ordinary commands, compared like the rest.
 */
const commandsArb: fc.Arbitrary<Command[]> = fc
  .tuple(
    fc.boolean(),
    fc.uniqueArray(fc.record({ path: fc.constantFrom(...filePaths), data: dataArb }), { selector: (file) => file.path, maxLength: 4 }),
    fc.array(commandArb, { maxLength: 30, size: 'max' }),
  )
  .map(([makeDirectory, files, commands]): Command[] => [
    ...(makeDirectory ? [{ op: 'mkdir' as const, path: directoryPath, mode: undefined }] : []),
    ...files.map((file) => ({ op: 'create' as const, ...file })),
    ...commands,
  ]);
const seed = 20240607;

/** A storage that silently ignores chmod: the property must catch it. */
class ChmodIgnoringStorage extends DelegatingStorage {
  constructor(inner: Storage) {
    super(inner, 'broken:chmod-ignored');
  }
  override async chmod(path: string, mode: number): Promise<void> {
    // Fails like the real thing (invalid mode, missing path) but never changes the mode.
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) return this.inner.chmod(path, mode);
    await this.inner.stat(path);
  }
}

describe('SimStorage against NodeStorage', () => {
  it('random operation sequences give the same results and the same final tree', async () => {
    await fc.assert(
      fc.asyncProperty(commandsArb, (commands) =>
        runOnBoth(makeNodeStorage, async () => ({ storage: new SimStorage(), cleanup: async () => {} }), commands),
      ),
      { numRuns: 100, seed },
    );
  });

  it('the harness finds no difference between two NodeStorages', async () => {
    await fc.assert(
      fc.asyncProperty(commandsArb, (commands) => runOnBoth(makeNodeStorage, () => makeNodeStorage(0o755), commands)),
      { numRuns: 30, seed },
    );
  });

  it('the harness catches a storage that differs (one that ignores chmod)', async () => {
    await assert.rejects(
      fc.assert(
        fc.asyncProperty(commandsArb, (commands) =>
          runOnBoth(makeNodeStorage, async () => {
            const subject = await makeNodeStorage(0o755);
            return { storage: new ChmodIgnoringStorage(subject.storage), cleanup: subject.cleanup };
          }, commands),
        ),
        { numRuns: 100, seed, endOnFailure: true },
      ),
      /chmod/,
    );
  });
});
