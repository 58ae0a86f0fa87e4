/**
 * The Storage contract: what every Storage implementation (NodeStorage on the real disk,
 * SimStorage in the simulator) must do, operation by operation, with exact results.
 *
 * It guarantees: the ten open flags create, truncate, refuse (EEXIST/ENOENT) and permit reads
 * and writes exactly as Linux open(2) does; positional writes, appends, reads and truncates
 * produce exactly the bytes Linux produces (zero-filled holes, short reads at end of file);
 * tryLock grants a file's lock to one handle at a time, until that handle is closed;
 * closed handles refuse every operation; rename, unlink, mkdir, rmdir, readdir, stat, chmod
 * and syncDir succeed and fail with the POSIX codes Linux gives; and no path can leave the
 * storage root. Every error is a CarveError whose `.code` and `.path` (the storage-relative
 * path given) are both checked.
 *
 * Only behaviour that Linux (ext4, tmpfs) really shows through node:fs/promises is asserted,
 * and nothing that Linux does surprisingly (opening a directory read-only, renaming a
 * directory over another, unlinking a directory) or that depends on privileges (EACCES).
 * Created files use modes that a umask of 022 leaves alone (0o644, 0o600, 0o755, 0o700).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError } from '../../src/errors.js';
import type { FileHandle, FileStat, OpenFlags, Storage } from '../../src/storage/storage.js';
import { walkTree } from '../support/storage-tree.js';

export interface StorageUnderTest {
  storage: Storage;
  cleanup: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytesOf(content: string | Uint8Array | number[]): Uint8Array {
  if (typeof content === 'string') return encoder.encode(content);
  return Uint8Array.from(content);
}

/** Asserts that `actual` is a Uint8Array holding exactly `expected`. */
function assertBytes(actual: Uint8Array, expected: string | Uint8Array | number[], message?: string): void {
  assert.ok(actual instanceof Uint8Array, `expected a Uint8Array, got ${String(actual)}`);
  const want = bytesOf(expected);
  assert.equal(actual.length, want.length, message ?? `length (got "${decoder.decode(actual)}")`);
  assert.deepEqual(Array.from(actual), Array.from(want), message);
}

/** Asserts that `promise` rejects with a CarveError of this code naming this path. */
export async function rejectsWith(promise: Promise<unknown>, code: string, path: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, code, `error code of: ${error.message}`);
    assert.equal(error.path, path, `error path of: ${error.message}`);
    return true;
  });
}

function assertStat(stat: FileStat, expected: { kind: 'file' | 'directory'; sizeBytes?: number; mode?: number }): void {
  assert.equal(stat.kind, expected.kind, 'stat kind');
  if (expected.sizeBytes !== undefined) assert.equal(stat.sizeBytes, expected.sizeBytes, 'stat sizeBytes');
  if (expected.mode !== undefined) {
    assert.equal(stat.mode, expected.mode, `stat mode 0o${stat.mode.toString(8)}, expected 0o${expected.mode.toString(8)}`);
  }
}

function zeros(count: number): number[] {
  return new Array<number>(count).fill(0);
}

function pattern(length: number, seed: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (seed + i * 31 + (i >> 8)) & 0xff;
  return data;
}

/** One test's world: a fresh storage, and the handles it opened (closed afterwards). */
class World {
  private readonly handles: FileHandle[] = [];

  constructor(readonly storage: Storage) {}

  async open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    const handle = mode === undefined ? await this.storage.open(path, flags) : await this.storage.open(path, flags, mode);
    this.handles.push(handle);
    return handle;
  }

  /** Creates (or replaces) a file holding `content`. */
  async put(path: string, content: string | Uint8Array, mode?: number): Promise<void> {
    const handle = mode === undefined ? await this.storage.open(path, 'w') : await this.storage.open(path, 'w', mode);
    try {
      const data = bytesOf(content);
      assert.equal(await handle.write(data, 0), data.length);
    } finally {
      await handle.close();
    }
  }

  /** The whole content of a file, read through a fresh 'r' handle. */
  async contents(path: string): Promise<Uint8Array> {
    const handle = await this.storage.open(path, 'r');
    try {
      const { sizeBytes } = await handle.stat();
      // Ask for more than the size: the read must stop at end of file.
      return await handle.read(sizeBytes + 100, 0);
    } finally {
      await handle.close();
    }
  }

  /** Every path under the root with its kind and (for files) content, for "nothing changed" checks. */
  async tree(): Promise<string[]> {
    const lines: string[] = [];
    for await (const { path, stat } of walkTree(this.storage)) {
      if (stat.kind === 'directory') lines.push(`${path}/ 0o${stat.mode.toString(8)}`);
      else lines.push(`${path} 0o${stat.mode.toString(8)} ${JSON.stringify(Array.from(await this.contents(path)))}`);
    }
    return lines;
  }

  async closeAll(): Promise<void> {
    for (const handle of this.handles) {
      try {
        await handle.close();
      } catch {
        // Already closed by the test.
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Open flags, stated independently of src/storage/storage.ts so the table itself is checked.

interface FlagSemantics {
  /** Creates a missing file (otherwise ENOENT). */
  creates: boolean;
  /** What opening an existing file does. */
  existing: 'keeps' | 'truncates' | 'EEXIST';
  readable: boolean;
  writable: boolean;
  /** Positional write() is refused; append() appends. */
  appendOnly: boolean;
}

const flagTable: Record<OpenFlags, FlagSemantics> = {
  r: { creates: false, existing: 'keeps', readable: true, writable: false, appendOnly: false },
  'r+': { creates: false, existing: 'keeps', readable: true, writable: true, appendOnly: false },
  w: { creates: true, existing: 'truncates', readable: false, writable: true, appendOnly: false },
  'w+': { creates: true, existing: 'truncates', readable: true, writable: true, appendOnly: false },
  wx: { creates: true, existing: 'EEXIST', readable: false, writable: true, appendOnly: false },
  'wx+': { creates: true, existing: 'EEXIST', readable: true, writable: true, appendOnly: false },
  a: { creates: true, existing: 'keeps', readable: false, writable: true, appendOnly: true },
  'a+': { creates: true, existing: 'keeps', readable: true, writable: true, appendOnly: true },
  ax: { creates: true, existing: 'EEXIST', readable: false, writable: true, appendOnly: true },
  'ax+': { creates: true, existing: 'EEXIST', readable: true, writable: true, appendOnly: true },
};

const allFlags = Object.keys(flagTable) as OpenFlags[];

// ---------------------------------------------------------------------------------------------

export function storageContract(name: string, makeStorage: () => Promise<StorageUnderTest>): void {
  /** A test with its own fresh storage, cleaned up afterwards whatever happens. */
  function test(title: string, body: (world: World, storage: Storage) => Promise<void>): void {
    it(title, async () => {
      const { storage, cleanup } = await makeStorage();
      const world = new World(storage);
      try {
        await body(world, storage);
      } finally {
        await world.closeAll();
        await cleanup();
      }
    });
  }

  describe(name, () => {
    describe('open flags', () => {
      for (const flags of allFlags) {
        const semantics = flagTable[flags];

        test(`'${flags}' on a missing file ${semantics.creates ? 'creates it empty' : 'fails with ENOENT'}`, async (w, s) => {
          if (semantics.creates) {
            const handle = await w.open('new', flags);
            assert.equal(handle.path, 'new');
            assert.equal(handle.flags, flags);
            assertStat(await handle.stat(), { kind: 'file', sizeBytes: 0 });
            assertStat(await s.stat('new'), { kind: 'file', sizeBytes: 0 });
            assert.deepEqual(await s.readdir(''), ['new']);
          } else {
            await rejectsWith(s.open('new', flags), 'ENOENT', 'new');
            assert.deepEqual(await s.readdir(''), []);
          }
        });

        const onExisting = { keeps: 'keeps its content', truncates: 'truncates it', EEXIST: 'fails with EEXIST' };
        test(`'${flags}' on an existing file ${onExisting[semantics.existing]}`, async (w, s) => {
          await w.put('f', 'hello', 0o600);
          if (semantics.existing === 'EEXIST') {
            await rejectsWith(s.open('f', flags), 'EEXIST', 'f');
          } else {
            const handle = await w.open('f', flags);
            assert.equal(handle.path, 'f');
            assert.equal(handle.flags, flags);
            const expectedSize = semantics.existing === 'truncates' ? 0 : 5;
            assertStat(await handle.stat(), { kind: 'file', sizeBytes: expectedSize, mode: 0o600 });
            await handle.close();
          }
          assertBytes(await w.contents('f'), semantics.existing === 'truncates' ? '' : 'hello');
          assertStat(await s.stat('f'), { kind: 'file', mode: 0o600 });
        });

        test(`'${flags}' handle: ${semantics.readable ? 'reads' : 'read fails with EBADF'}, ${
          !semantics.writable ? 'writes fail with EBADF' : semantics.appendOnly ? 'only appends' : 'writes anywhere'
        }`, async (w, s) => {
          // Exclusive flags need a new file; the others open an existing one.
          const path = semantics.existing === 'EEXIST' ? 'fresh' : 'f';
          if (path === 'f') await w.put('f', 'hello');
          const handle = await w.open(path, flags);
          let expected = path === 'f' && semantics.existing === 'keeps' ? 'hello' : '';

          if (semantics.readable) assertBytes(await handle.read(100, 0), expected);
          else await rejectsWith(handle.read(1, 0), 'EBADF', path);

          if (!semantics.writable) {
            await rejectsWith(handle.write(bytesOf('XY'), 0), 'EBADF', path);
            await rejectsWith(handle.append(bytesOf('XY')), 'EBADF', path);
            await rejectsWith(handle.truncate(0), 'EBADF', path);
          } else if (semantics.appendOnly) {
            await rejectsWith(handle.write(bytesOf('XY'), 0), 'E_INVALID_ARGUMENT', path);
            assert.equal(await handle.append(bytesOf('XY')), 2);
            expected += 'XY';
          } else {
            assert.equal(await handle.write(bytesOf('XY'), 0), 2);
            expected = 'XY' + expected.slice(2);
          }

          if (semantics.readable) assertBytes(await handle.read(100, 0), expected);
          await handle.close();
          assertBytes(await w.contents(path), expected);
        });
      }

      test('a created file gets the given mode; opening an existing file keeps its mode', async (w, s) => {
        const handle = await w.open('private', 'wx', 0o600);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 0, mode: 0o600 });
        await handle.close();
        assertStat(await s.stat('private'), { kind: 'file', mode: 0o600 });
        await (await w.open('private', 'w', 0o644)).close();
        assertStat(await s.stat('private'), { kind: 'file', mode: 0o600 });
        await (await w.open('private', 'a', 0o755)).close();
        assertStat(await s.stat('private'), { kind: 'file', mode: 0o600 });
      });

      test('the default mode of a created file is 0o644', async (w, s) => {
        await (await w.open('f', 'w')).close();
        assertStat(await s.stat('f'), { kind: 'file', sizeBytes: 0, mode: 0o644 });
      });

      test('an invalid mode fails with E_INVALID_MODE and creates nothing', async (w, s) => {
        for (const mode of [-1, 0o1000, 1.5]) await rejectsWith(s.open('f', 'w', mode), 'E_INVALID_MODE', 'f');
        assert.deepEqual(await s.readdir(''), []);
      });

      test('creating a file in a missing directory fails with ENOENT', async (w, s) => {
        await rejectsWith(s.open('nodir/f', 'w'), 'ENOENT', 'nodir/f');
        await rejectsWith(s.open('nodir/f', 'r'), 'ENOENT', 'nodir/f');
        assert.deepEqual(await s.readdir(''), []);
      });

      test('opening a path under a file fails with ENOTDIR', async (w, s) => {
        await w.put('f', 'x');
        await rejectsWith(s.open('f/x', 'w'), 'ENOTDIR', 'f/x');
        await rejectsWith(s.open('f/x', 'r'), 'ENOTDIR', 'f/x');
        assertBytes(await w.contents('f'), 'x');
      });

      test('opening a directory for writing fails with EISDIR', async (w, s) => {
        await s.mkdir('d');
        for (const flags of ['r+', 'w', 'w+', 'a', 'a+'] as const) await rejectsWith(s.open('d', flags), 'EISDIR', 'd');
        for (const flags of ['wx', 'wx+', 'ax', 'ax+'] as const) await rejectsWith(s.open('d', flags), 'EEXIST', 'd');
        assertStat(await s.stat('d'), { kind: 'directory' });
        assert.deepEqual(await s.readdir('d'), []);
      });

      test('files are created in subdirectories', async (w, s) => {
        await s.mkdir('d');
        await w.put('d/f', 'inside');
        assert.deepEqual(await s.readdir('d'), ['f']);
        assert.deepEqual(await s.readdir(''), ['d']);
        assertBytes(await w.contents('d/f'), 'inside');
      });
    });

    describe('write', () => {
      test('returns the byte count and overwrites in place', async (w) => {
        await w.put('f', 'hello world');
        const handle = await w.open('f', 'r+');
        assert.equal(await handle.write(bytesOf('WORLD'), 6), 5);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 11 });
        await handle.close();
        assertBytes(await w.contents('f'), 'hello WORLD');
      });

      test('extends the file when it runs past the end', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r+');
        assert.equal(await handle.write(bytesOf('p!'), 4), 2);
        await handle.close();
        assertBytes(await w.contents('f'), 'hellp!');
      });

      test('writing past end of file leaves a zero-filled hole', async (w, s) => {
        await w.put('f', 'abc');
        const handle = await w.open('f', 'r+');
        assert.equal(await handle.write(bytesOf('xy'), 10), 2);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 12 });
        assertBytes(await handle.read(12, 0), [...bytesOf('abc'), ...zeros(7), ...bytesOf('xy')]);
        await handle.close();
        assertStat(await s.stat('f'), { kind: 'file', sizeBytes: 12 });
        assertBytes(await w.contents('f'), [...bytesOf('abc'), ...zeros(7), ...bytesOf('xy')]);
      });

      test('a hole in a new file reads as zeros', async (w) => {
        const handle = await w.open('f', 'w+');
        assert.equal(await handle.write(bytesOf('Z'), 5000), 1);
        const data = await handle.read(6000, 0);
        assertBytes(data, [...zeros(5000), ...bytesOf('Z')]);
      });

      test('a large write lands whole', async (w) => {
        const data = pattern(300_000, 7);
        const handle = await w.open('big', 'w');
        assert.equal(await handle.write(data, 1000), data.length);
        await handle.close();
        assertBytes(await w.contents('big'), [...zeros(1000), ...data]);
      });

      test('a zero-length write returns 0 and changes nothing, even past the end', async (w) => {
        await w.put('f', 'abc');
        const handle = await w.open('f', 'r+');
        assert.equal(await handle.write(new Uint8Array(0), 1), 0);
        assert.equal(await handle.write(new Uint8Array(0), 100), 0);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 3 });
        await handle.close();
        assertBytes(await w.contents('f'), 'abc');
      });

      test('an invalid position fails with E_INVALID_ARGUMENT and writes nothing', async (w) => {
        await w.put('f', 'abc');
        const handle = await w.open('f', 'r+');
        for (const position of [-1, 1.5, Number.NaN]) {
          await rejectsWith(handle.write(bytesOf('x'), position), 'E_INVALID_ARGUMENT', 'f');
        }
        await handle.close();
        assertBytes(await w.contents('f'), 'abc');
      });

      test('a write through one handle is seen at once through another', async (w) => {
        await w.put('f', 'aaaa');
        const writer = await w.open('f', 'r+');
        const reader = await w.open('f', 'r');
        await writer.write(bytesOf('bb'), 1);
        assertBytes(await reader.read(10, 0), 'abba');
        await writer.write(bytesOf('cc'), 6);
        assertBytes(await reader.read(10, 0), [...bytesOf('abba'), 0, 0, ...bytesOf('cc')]);
        assertStat(await reader.stat(), { kind: 'file', sizeBytes: 8 });
      });

      test('a write copies the data: changing the buffer afterwards changes nothing', async (w) => {
        const handle = await w.open('f', 'w+');
        const data = bytesOf('abc');
        await handle.write(data, 0);
        data[0] = 0x7a;
        assertBytes(await handle.read(3, 0), 'abc');
      });
    });

    describe('append', () => {
      test("write() on an append handle fails with E_INVALID_ARGUMENT and changes nothing", async (w) => {
        await w.put('f', 'abc');
        for (const flags of ['a', 'a+'] as const) {
          const handle = await w.open('f', flags);
          await rejectsWith(handle.write(bytesOf('X'), 0), 'E_INVALID_ARGUMENT', 'f');
          await rejectsWith(handle.write(bytesOf('X'), 3), 'E_INVALID_ARGUMENT', 'f');
          await handle.close();
        }
        assertBytes(await w.contents('f'), 'abc');
      });

      test('append() adds at the end and returns the byte count', async (w) => {
        await w.put('f', 'abc');
        const handle = await w.open('f', 'a');
        assert.equal(await handle.append(bytesOf('de')), 2);
        assert.equal(await handle.append(bytesOf('f')), 1);
        assert.equal(await handle.append(new Uint8Array(0)), 0);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 6 });
        await handle.close();
        assertBytes(await w.contents('f'), 'abcdef');
      });

      test('appends land at the current end even after another handle grew the file', async (w) => {
        await w.put('f', 'abc');
        const appender = await w.open('f', 'a+');
        const other = await w.open('f', 'r+');
        await other.write(bytesOf('XY'), 6);
        assert.equal(await appender.append(bytesOf('Z')), 1);
        const second = await w.open('f', 'a');
        await second.append(bytesOf('1'));
        await appender.append(bytesOf('2'));
        assertBytes(await appender.read(100, 0), [...bytesOf('abc'), 0, 0, 0, ...bytesOf('XYZ12')]);
      });

      test('appends land at the end after a truncate', async (w) => {
        await w.put('f', 'abcdef');
        const appender = await w.open('f', 'a');
        const other = await w.open('f', 'r+');
        await other.truncate(2);
        await appender.append(bytesOf('Z'));
        assertBytes(await other.read(100, 0), 'abZ');
      });

      test('append() on a non-append writable handle writes at the current end', async (w) => {
        await w.put('f', 'abc');
        const handle = await w.open('f', 'r+');
        assert.equal(await handle.append(bytesOf('de')), 2);
        await handle.write(bytesOf('Q'), 8);
        assert.equal(await handle.append(bytesOf('!')), 1);
        assertBytes(await handle.read(100, 0), [...bytesOf('abcde'), 0, 0, 0, ...bytesOf('Q!')]);
        const fresh = await w.open('g', 'w');
        assert.equal(await fresh.append(bytesOf('xyz')), 3);
        await fresh.close();
        assertBytes(await w.contents('g'), 'xyz');
      });

      test('append() on a read-only handle fails with EBADF', async (w) => {
        await w.put('f', 'abc');
        const handle = await w.open('f', 'r');
        await rejectsWith(handle.append(bytesOf('X')), 'EBADF', 'f');
        await handle.close();
        assertBytes(await w.contents('f'), 'abc');
      });
    });

    describe('read', () => {
      test('reads exactly the requested range', async (w) => {
        await w.put('f', 'hello world');
        const handle = await w.open('f', 'r');
        assertBytes(await handle.read(5, 0), 'hello');
        assertBytes(await handle.read(3, 4), 'o w');
        assertBytes(await handle.read(1, 10), 'd');
      });

      test('is short at end of file and empty at or past it', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r');
        assertBytes(await handle.read(10, 2), 'llo');
        assertBytes(await handle.read(10, 0), 'hello');
        assertBytes(await handle.read(1, 5), '');
        assertBytes(await handle.read(10, 6), '');
        assertBytes(await handle.read(10, 5000), '');
      });

      test('a zero-length read returns an empty array', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r');
        assertBytes(await handle.read(0, 0), '');
        assertBytes(await handle.read(0, 3), '');
        assertBytes(await handle.read(0, 100), '');
      });

      test('an empty file reads as empty', async (w) => {
        const handle = await w.open('f', 'w+');
        assertBytes(await handle.read(10, 0), '');
      });

      test('invalid lengths and positions fail with E_INVALID_ARGUMENT', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r');
        await rejectsWith(handle.read(-1, 0), 'E_INVALID_ARGUMENT', 'f');
        await rejectsWith(handle.read(1, -1), 'E_INVALID_ARGUMENT', 'f');
        await rejectsWith(handle.read(1.5, 0), 'E_INVALID_ARGUMENT', 'f');
      });

      test('reads see binary data byte for byte', async (w) => {
        const data = pattern(4097, 200);
        const handle = await w.open('f', 'w+');
        await handle.write(data, 0);
        assertBytes(await handle.read(4097, 0), data);
        assertBytes(await handle.read(100, 4000), data.slice(4000));
      });
    });

    describe('truncate', () => {
      test('shrinks a file', async (w, s) => {
        await w.put('f', 'hello world');
        const handle = await w.open('f', 'r+');
        await handle.truncate(5);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 5 });
        await handle.close();
        assertStat(await s.stat('f'), { kind: 'file', sizeBytes: 5 });
        assertBytes(await w.contents('f'), 'hello');
      });

      test('grows a file with zeros', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r+');
        await handle.truncate(8);
        await handle.close();
        assertBytes(await w.contents('f'), [...bytesOf('hello'), 0, 0, 0]);
      });

      test('growing after shrinking reads zeros, not the old bytes', async (w) => {
        await w.put('f', 'hello world');
        const handle = await w.open('f', 'r+');
        await handle.truncate(2);
        await handle.truncate(6);
        assertBytes(await handle.read(100, 0), [...bytesOf('he'), 0, 0, 0, 0]);
        await handle.write(bytesOf('!'), 9);
        assertBytes(await handle.read(100, 0), [...bytesOf('he'), ...zeros(7), ...bytesOf('!')]);
      });

      test('truncating to zero empties the file; to the same size changes nothing', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r+');
        await handle.truncate(5);
        assertBytes(await handle.read(100, 0), 'hello');
        await handle.truncate(0);
        assertBytes(await handle.read(100, 0), '');
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 0 });
      });

      test('works on every writable handle, append handles included', async (w) => {
        for (const flags of ['r+', 'w', 'w+', 'a', 'a+'] as const) {
          await w.put('f', 'hello');
          const handle = await w.open('f', flags);
          await handle.truncate(3);
          assertStat(await handle.stat(), { kind: 'file', sizeBytes: 3 });
          await handle.close();
        }
      });

      test('a read-only handle fails with EBADF; a negative size with E_INVALID_ARGUMENT', async (w) => {
        await w.put('f', 'hello');
        const reader = await w.open('f', 'r');
        await rejectsWith(reader.truncate(1), 'EBADF', 'f');
        const writer = await w.open('f', 'r+');
        await rejectsWith(writer.truncate(-1), 'E_INVALID_ARGUMENT', 'f');
        await reader.close();
        await writer.close();
        assertBytes(await w.contents('f'), 'hello');
      });
    });

    describe('sync and datasync', () => {
      test('succeed on every kind of handle and change nothing visible', async (w) => {
        await w.put('f', 'hello');
        for (const flags of ['r', 'r+', 'w', 'w+', 'a', 'a+'] as const) {
          const handle = await w.open('f', flags);
          if (flags !== 'r') {
            if (flags.startsWith('a')) await handle.append(bytesOf('hello'));
            else await handle.write(bytesOf('hello'), 0);
          }
          assert.equal(await handle.sync(), undefined);
          assert.equal(await handle.datasync(), undefined);
          await handle.close();
          assertBytes(await w.contents('f'), flags.startsWith('a') ? 'hellohello' : 'hello');
          await w.put('f', 'hello');
        }
        for (const flags of ['wx', 'wx+', 'ax', 'ax+'] as const) {
          const handle = await w.open(`new-${flags}`, flags);
          assert.equal(await handle.sync(), undefined);
          assert.equal(await handle.datasync(), undefined);
          await handle.close();
        }
      });
    });

    describe('dsync (O_DSYNC) handles', () => {
      test('write, append and read like any handle, and say they are dsync', async (w, s) => {
        const plain = await w.open('f', 'w');
        assert.equal(plain.dsync, false);
        const handle = await s.open('f', 'r+', undefined, { dsync: true });
        assert.equal(handle.dsync, true);
        assert.equal(await handle.write(bytesOf('hello'), 0), 5);
        assert.equal(await handle.write(bytesOf('J'), 7), 1);
        assertBytes(await handle.read(8, 0), [104, 101, 108, 108, 111, 0, 0, 74]);
        await handle.close();
        const appender = await s.open('g', 'a', undefined, { dsync: true });
        await appender.append(bytesOf('ab'));
        await appender.append(bytesOf('cd'));
        await appender.close();
        assertBytes(await w.contents('g'), 'abcd');
      });
    });

    describe('tryLock', () => {
      test('one handle at a time holds a file\'s lock; closing it lets another take it', async (w) => {
        const first = await w.open('LOCK', 'a+');
        const second = await w.open('LOCK', 'r+');
        assert.equal(await first.tryLock(), true);
        assert.equal(await first.tryLock(), true, 'the holder asking again');
        assert.equal(await second.tryLock(), false, 'another handle in the same process');
        await first.close();
        assert.equal(await second.tryLock(), true);
        const other = await w.open('other', 'w');
        assert.equal(await other.tryLock(), true, 'locks are per file');
        await second.close();
        await other.close();
        assertBytes(await w.contents('LOCK'), '', 'a lock writes nothing');
      });

      test('needs a writable handle (EBADF), and an open one', async (w) => {
        await w.put('f', 'x');
        const reader = await w.open('f', 'r');
        await rejectsWith(reader.tryLock(), 'EBADF', 'f');
        await reader.close();
        await rejectsWith(reader.tryLock(), 'E_HANDLE_CLOSED', 'f');
      });
    });

    describe('stat', () => {
      test('of a file: kind, size and mode', async (w, s) => {
        await w.put('f', 'hello', 0o600);
        assertStat(await s.stat('f'), { kind: 'file', sizeBytes: 5, mode: 0o600 });
        const handle = await w.open('f', 'r');
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 5, mode: 0o600 });
      });

      test('of a directory: kind, size 0 and mode; the root is a directory', async (w, s) => {
        await s.mkdir('d');
        assertStat(await s.stat('d'), { kind: 'directory', sizeBytes: 0, mode: 0o755 });
        await w.put('d/f', 'x');
        assertStat(await s.stat('d'), { kind: 'directory', sizeBytes: 0, mode: 0o755 });
        assertStat(await s.stat(''), { kind: 'directory', sizeBytes: 0 });
        assertStat(await s.stat('.'), { kind: 'directory', sizeBytes: 0 });
      });

      test('a handle stat follows writes and truncates', async (w) => {
        const handle = await w.open('f', 'w+');
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 0 });
        await handle.write(bytesOf('abc'), 0);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 3 });
        await handle.write(bytesOf('z'), 99);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 100 });
        await handle.truncate(10);
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 10 });
      });

      test('shows the mode set by chmod, on the path and on open handles', async (w, s) => {
        await w.put('f', 'x');
        const handle = await w.open('f', 'r');
        await s.chmod('f', 0o640);
        assertStat(await s.stat('f'), { kind: 'file', mode: 0o640 });
        assertStat(await handle.stat(), { kind: 'file', mode: 0o640 });
      });

      test('a missing path fails with ENOENT; a path under a file with ENOTDIR', async (w, s) => {
        await rejectsWith(s.stat('missing'), 'ENOENT', 'missing');
        await rejectsWith(s.stat('no/such'), 'ENOENT', 'no/such');
        await w.put('f', 'x');
        await rejectsWith(s.stat('f/x'), 'ENOTDIR', 'f/x');
      });
    });

    describe('close', () => {
      test('every operation on a closed handle fails with E_HANDLE_CLOSED', async (w) => {
        await w.put('f', 'hello');
        const handle = await w.open('f', 'r+');
        assert.equal(await handle.close(), undefined);
        await rejectsWith(handle.write(bytesOf('x'), 0), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.append(bytesOf('x')), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.read(1, 0), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.truncate(0), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.sync(), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.datasync(), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.stat(), 'E_HANDLE_CLOSED', 'f');
        await rejectsWith(handle.close(), 'E_HANDLE_CLOSED', 'f');
        assertBytes(await w.contents('f'), 'hello');
      });

      test('closed append and read-only handles also fail with E_HANDLE_CLOSED', async (w) => {
        await w.put('log', 'x');
        const appender = await w.open('log', 'a');
        await appender.close();
        await rejectsWith(appender.append(bytesOf('x')), 'E_HANDLE_CLOSED', 'log');
        await rejectsWith(appender.write(bytesOf('x'), 0), 'E_HANDLE_CLOSED', 'log');
        const reader = await w.open('log', 'r');
        await reader.close();
        await rejectsWith(reader.read(1, 0), 'E_HANDLE_CLOSED', 'log');
        await rejectsWith(reader.write(bytesOf('x'), 0), 'E_HANDLE_CLOSED', 'log');
      });

      test('data written before close stays; closing one handle leaves the others open', async (w) => {
        const first = await w.open('f', 'w+');
        const second = await w.open('f', 'r');
        await first.write(bytesOf('kept'), 0);
        await first.close();
        assertBytes(await second.read(10, 0), 'kept');
        assertBytes(await w.contents('f'), 'kept');
      });

      test('a handle in a subdirectory reports its path in errors', async (w, s) => {
        await s.mkdir('d');
        const handle = await w.open('d/f', 'w');
        await handle.close();
        await rejectsWith(handle.stat(), 'E_HANDLE_CLOSED', 'd/f');
      });
    });

    describe('rename', () => {
      test('moves a file to a new name', async (w, s) => {
        await w.put('a', 'content', 0o600);
        assert.equal(await s.rename('a', 'b'), undefined);
        assert.deepEqual(await s.readdir(''), ['b']);
        await rejectsWith(s.stat('a'), 'ENOENT', 'a');
        assertBytes(await w.contents('b'), 'content');
        assertStat(await s.stat('b'), { kind: 'file', sizeBytes: 7, mode: 0o600 });
      });

      test('replaces an existing file', async (w, s) => {
        await w.put('new', 'new content');
        await w.put('old', 'old');
        await s.rename('new', 'old');
        assert.deepEqual(await s.readdir(''), ['old']);
        assertBytes(await w.contents('old'), 'new content');
      });

      test('moves a file into and out of another directory', async (w, s) => {
        await s.mkdir('d');
        await w.put('f', 'travel');
        await s.rename('f', 'd/g');
        assert.deepEqual(await s.readdir(''), ['d']);
        assert.deepEqual(await s.readdir('d'), ['g']);
        assertBytes(await w.contents('d/g'), 'travel');
        await w.put('h', 'replaced');
        await s.rename('d/g', 'h');
        assert.deepEqual(await s.readdir('d'), []);
        assert.deepEqual(await s.readdir(''), ['d', 'h']);
        assertBytes(await w.contents('h'), 'travel');
      });

      test('a missing source fails with ENOENT and leaves the target alone', async (w, s) => {
        await w.put('target', 'still here');
        await rejectsWith(s.rename('missing', 'target'), 'ENOENT', 'missing');
        await rejectsWith(s.rename('missing', 'other'), 'ENOENT', 'missing');
        assert.deepEqual(await s.readdir(''), ['target']);
        assertBytes(await w.contents('target'), 'still here');
      });

      test('renaming a file onto itself changes nothing', async (w, s) => {
        await w.put('f', 'same');
        await s.rename('f', 'f');
        assert.deepEqual(await s.readdir(''), ['f']);
        assertBytes(await w.contents('f'), 'same');
      });

      test('moves a directory with its contents to a new name', async (w, s) => {
        await s.mkdir('d');
        await s.mkdir('d/sub');
        await w.put('d/f', 'one');
        await w.put('d/sub/g', 'two');
        await s.rename('d', 'e');
        assert.deepEqual(await s.readdir(''), ['e']);
        assert.deepEqual(await s.readdir('e'), ['f', 'sub']);
        assertBytes(await w.contents('e/f'), 'one');
        assertBytes(await w.contents('e/sub/g'), 'two');
        await rejectsWith(s.stat('d/f'), 'ENOENT', 'd/f');
      });

      test('an open handle follows the renamed file', async (w, s) => {
        await w.put('a', 'abc');
        const handle = await w.open('a', 'r+');
        await s.rename('a', 'b');
        await handle.write(bytesOf('X'), 3);
        assertBytes(await w.contents('b'), 'abcX');
        await rejectsWith(s.stat('a'), 'ENOENT', 'a');
      });

      test('a handle on a replaced file keeps the old file', async (w, s) => {
        await w.put('old', 'old');
        await w.put('new', 'new!');
        const handle = await w.open('old', 'r');
        await s.rename('new', 'old');
        assertBytes(await handle.read(10, 0), 'old');
        assertBytes(await w.contents('old'), 'new!');
      });
    });

    describe('unlink', () => {
      test('removes a file', async (w, s) => {
        await w.put('f', 'x');
        await w.put('g', 'y');
        assert.equal(await s.unlink('f'), undefined);
        assert.deepEqual(await s.readdir(''), ['g']);
        await rejectsWith(s.stat('f'), 'ENOENT', 'f');
        await rejectsWith(s.open('f', 'r'), 'ENOENT', 'f');
      });

      test('a missing file fails with ENOENT', async (w, s) => {
        await rejectsWith(s.unlink('missing'), 'ENOENT', 'missing');
        await s.mkdir('d');
        await rejectsWith(s.unlink('d/missing'), 'ENOENT', 'd/missing');
        await w.put('f', 'x');
        await s.unlink('f');
        await rejectsWith(s.unlink('f'), 'ENOENT', 'f');
      });

      test('an open handle keeps working on the unlinked file', async (w, s) => {
        const handle = await w.open('f', 'w+');
        await handle.write(bytesOf('ghost'), 0);
        await s.unlink('f');
        assert.deepEqual(await s.readdir(''), []);
        await handle.write(bytesOf('!'), 5);
        assertBytes(await handle.read(10, 0), 'ghost!');
        assertStat(await handle.stat(), { kind: 'file', sizeBytes: 6 });
        await w.put('f', 'new');
        assertBytes(await handle.read(10, 0), 'ghost!');
        assertBytes(await w.contents('f'), 'new');
      });
    });

    describe('mkdir', () => {
      test('creates an empty directory with mode 0o755 by default or the given mode', async (w, s) => {
        assert.equal(await s.mkdir('d'), undefined);
        await s.mkdir('p', 0o700);
        assert.deepEqual(await s.readdir(''), ['d', 'p']);
        assert.deepEqual(await s.readdir('d'), []);
        assertStat(await s.stat('d'), { kind: 'directory', mode: 0o755 });
        assertStat(await s.stat('p'), { kind: 'directory', mode: 0o700 });
      });

      test('creates nested directories one level at a time', async (w, s) => {
        await s.mkdir('d');
        await s.mkdir('d/e');
        assert.deepEqual(await s.readdir('d'), ['e']);
        assertStat(await s.stat('d/e'), { kind: 'directory' });
      });

      test('an existing directory or file fails with EEXIST', async (w, s) => {
        await s.mkdir('d');
        await w.put('f', 'x');
        await rejectsWith(s.mkdir('d'), 'EEXIST', 'd');
        await rejectsWith(s.mkdir('f'), 'EEXIST', 'f');
        assertStat(await s.stat('f'), { kind: 'file', sizeBytes: 1 });
      });

      test('a missing parent fails with ENOENT; a file parent with ENOTDIR', async (w, s) => {
        await rejectsWith(s.mkdir('no/sub'), 'ENOENT', 'no/sub');
        await w.put('f', 'x');
        await rejectsWith(s.mkdir('f/sub'), 'ENOTDIR', 'f/sub');
        assert.deepEqual(await s.readdir(''), ['f']);
      });

      test('an invalid mode fails with E_INVALID_MODE and creates nothing', async (w, s) => {
        for (const mode of [-1, 0o1000, 1.5]) await rejectsWith(s.mkdir('d', mode), 'E_INVALID_MODE', 'd');
        assert.deepEqual(await s.readdir(''), []);
      });
    });

    describe('rmdir', () => {
      test('removes an empty directory', async (w, s) => {
        await s.mkdir('d');
        await s.mkdir('e');
        assert.equal(await s.rmdir('d'), undefined);
        assert.deepEqual(await s.readdir(''), ['e']);
        await rejectsWith(s.stat('d'), 'ENOENT', 'd');
      });

      test('a non-empty directory fails with ENOTEMPTY and keeps its contents', async (w, s) => {
        await s.mkdir('d');
        await w.put('d/f', 'x');
        await rejectsWith(s.rmdir('d'), 'ENOTEMPTY', 'd');
        await s.mkdir('e');
        await s.mkdir('e/sub');
        await rejectsWith(s.rmdir('e'), 'ENOTEMPTY', 'e');
        assert.deepEqual(await s.readdir('d'), ['f']);
        assert.deepEqual(await s.readdir('e'), ['sub']);
        await s.unlink('d/f');
        await s.rmdir('d');
        assert.deepEqual(await s.readdir(''), ['e']);
      });

      test('a missing directory fails with ENOENT; a file with ENOTDIR', async (w, s) => {
        await rejectsWith(s.rmdir('missing'), 'ENOENT', 'missing');
        await w.put('f', 'x');
        await rejectsWith(s.rmdir('f'), 'ENOTDIR', 'f');
        assertBytes(await w.contents('f'), 'x');
      });
    });

    describe('readdir', () => {
      test('returns the names sorted', async (w, s) => {
        for (const name of ['zeta', 'alpha', 'Mid', 'beta', '0']) await w.put(name, name);
        await s.mkdir('dir');
        assert.deepEqual(await s.readdir(''), ['0', 'Mid', 'alpha', 'beta', 'dir', 'zeta']);
        assert.deepEqual(await s.readdir('.'), ['0', 'Mid', 'alpha', 'beta', 'dir', 'zeta']);
      });

      test('lists only the direct entries of a directory', async (w, s) => {
        await s.mkdir('d');
        await s.mkdir('d/sub');
        await w.put('d/b', 'x');
        await w.put('d/a', 'x');
        await w.put('d/sub/deep', 'x');
        assert.deepEqual(await s.readdir('d'), ['a', 'b', 'sub']);
        assert.deepEqual(await s.readdir('d/sub'), ['deep']);
        assert.deepEqual(await s.readdir(''), ['d']);
      });

      test('an empty root or directory lists nothing', async (w, s) => {
        assert.deepEqual(await s.readdir(''), []);
        await s.mkdir('d');
        assert.deepEqual(await s.readdir('d'), []);
      });

      test('a missing directory fails with ENOENT; a file with ENOTDIR', async (w, s) => {
        await rejectsWith(s.readdir('missing'), 'ENOENT', 'missing');
        await w.put('f', 'x');
        await rejectsWith(s.readdir('f'), 'ENOTDIR', 'f');
      });
    });

    describe('chmod', () => {
      test('sets the permission bits of files and directories', async (w, s) => {
        await w.put('f', 'x');
        await s.mkdir('d');
        for (const mode of [0o600, 0o755, 0o400, 0o000, 0o777, 0o640]) {
          assert.equal(await s.chmod('f', mode), undefined);
          assertStat(await s.stat('f'), { kind: 'file', sizeBytes: 1, mode });
        }
        await s.chmod('d', 0o700);
        assertStat(await s.stat('d'), { kind: 'directory', mode: 0o700 });
        assertBytes(await w.contents('f'), 'x');
      });

      test('an invalid mode fails with E_INVALID_MODE and leaves the mode alone', async (w, s) => {
        await w.put('f', 'x', 0o600);
        for (const mode of [-1, 0o1000, 1.5, Number.NaN]) await rejectsWith(s.chmod('f', mode), 'E_INVALID_MODE', 'f');
        assertStat(await s.stat('f'), { kind: 'file', mode: 0o600 });
      });

      test('a missing path fails with ENOENT', async (w, s) => {
        await rejectsWith(s.chmod('missing', 0o600), 'ENOENT', 'missing');
      });
    });

    describe('syncDir', () => {
      test('succeeds on the root and on a subdirectory', async (w, s) => {
        await s.mkdir('d');
        await w.put('d/f', 'x');
        assert.equal(await s.syncDir(''), undefined);
        assert.equal(await s.syncDir('.'), undefined);
        assert.equal(await s.syncDir('d'), undefined);
        assert.deepEqual(await s.readdir('d'), ['f']);
      });

      test('a missing directory fails with ENOENT; a file with ENOTDIR', async (w, s) => {
        await rejectsWith(s.syncDir('missing'), 'ENOENT', 'missing');
        await w.put('f', 'x');
        await rejectsWith(s.syncDir('f'), 'ENOTDIR', 'f');
      });
    });

    describe('path safety', () => {
      for (const bad of ['../x', '/etc/passwd', 'a/../../x', '..', 'd/../../x']) {
        test(`'${bad}' fails with E_PATH_OUTSIDE_ROOT everywhere and writes nothing`, async (w, s) => {
          await s.mkdir('d');
          await w.put('f', 'keep');
          const before = await w.tree();
          for (const flags of allFlags) await rejectsWith(s.open(bad, flags), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.mkdir(bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.rmdir(bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.unlink(bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.readdir(bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.stat(bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.chmod(bad, 0o644), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.syncDir(bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.rename('f', bad), 'E_PATH_OUTSIDE_ROOT', bad);
          await rejectsWith(s.rename(bad, 'g'), 'E_PATH_OUTSIDE_ROOT', bad);
          assert.deepEqual(await w.tree(), before);
        });
      }

      test("'.' and '..' that stay inside the root resolve normally", async (w, s) => {
        await s.mkdir('d');
        await w.put('d/../f', 'one');
        assert.deepEqual(await s.readdir(''), ['d', 'f']);
        assertBytes(await w.contents('./f'), 'one');
        assertBytes(await w.contents('d/./../f'), 'one');
        await w.put('./d/g', 'two');
        assert.deepEqual(await s.readdir('d/.'), ['g']);
        assertStat(await s.stat('d/..'), { kind: 'directory' });
      });

      test('a NUL byte in a path fails with E_INVALID_PATH', async (w, s) => {
        await rejectsWith(s.open('a\0b', 'w'), 'E_INVALID_PATH', 'a\0b');
        await rejectsWith(s.mkdir('a\0b'), 'E_INVALID_PATH', 'a\0b');
        assert.deepEqual(await s.readdir(''), []);
      });
    });
  });
}
