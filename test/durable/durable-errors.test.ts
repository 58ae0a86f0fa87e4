/**
 * replaceFileAtomically and writeSecretFile on NodeStorage (a fresh temp directory per test):
 * they create or replace the target with exactly the new bytes and mode and leave no temp file;
 * bad arguments (mode, path) fail with typed CarveErrors before any I/O, leaving the target
 * untouched; a missing parent directory fails with ENOENT and leaves nothing behind; and a
 * failed fsync is reported as the error (sync called once, never retried into success), the
 * temp file is removed and the target keeps its old content.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { replaceFileAtomically } from '../../src/durable/replace.js';
import { writeSecretFile } from '../../src/durable/secret.js';
import { tempMarker } from '../../src/durable/temp-names.js';
import { NodeStorage } from '../../src/storage/node.js';
import type { FileHandle, OpenFlags, Storage } from '../../src/storage/storage.js';
import { DelegatingFileHandle, DelegatingStorage } from '../../src/storage/delegating.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A rejection predicate: a CarveError with `code` (and `path`, when given). */
function carveError(code: ErrorCode, path?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (path !== undefined) assert.equal(error.path, path);
    return true;
  };
}

/** Records the handles opened through it and makes every FileHandle.sync() fail with EIO. */
class FailingSyncStorage extends DelegatingStorage {
  syncCalls = 0;
  readonly opened: { path: string; flags: OpenFlags; mode: number | undefined }[] = [];

  constructor(inner: Storage) {
    super(inner, `failing-sync:${inner.description}`);
  }

  override open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    this.opened.push({ path, flags, mode });
    return super.open(path, flags, mode);
  }

  protected override wrapHandle(handle: FileHandle): FileHandle {
    const storage = this;
    return new (class extends DelegatingFileHandle {
      override async sync(): Promise<void> {
        storage.syncCalls += 1;
        throw new CarveError(ErrorCodes.EIO, 'injected fsync failure', { path: this.inner.path });
      }
    })(handle);
  }
}

describe('replaceFileAtomically and writeSecretFile on NodeStorage', () => {
  let savedUmask: number;
  let baseDir: string;
  let rootDir: string;
  let storage: NodeStorage;

  // A known umask, so that requested modes come out as requested (umask can only narrow them).
  before(() => {
    savedUmask = process.umask(0o022);
  });
  after(() => {
    process.umask(savedUmask);
  });

  beforeEach(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'carve-durable-'));
    rootDir = join(baseDir, 'root');
    storage = await NodeStorage.open(rootDir, { create: true });
  });
  afterEach(async () => {
    await rm(baseDir, { recursive: true, force: true });
  });

  async function seedTarget(name: string, content: string, mode: number): Promise<void> {
    await writeFile(join(rootDir, name), content);
    await chmod(join(rootDir, name), mode);
  }

  async function assertUntouched(name: string, content: string, mode: number): Promise<void> {
    assert.equal(await readFile(join(rootDir, name), 'utf8'), content, `${name} keeps its old content`);
    assert.equal((await stat(join(rootDir, name))).mode & 0o777, mode, `${name} keeps its old mode`);
    assert.deepEqual(await readdir(rootDir), [name], 'no other file (no temp) in the directory');
  }

  describe('success', () => {
    it('creates a target that did not exist, with the default mode 0o644, and leaves no temp', async () => {
      await replaceFileAtomically(storage, 'config.json', encode('{"a":1}'));
      assert.equal(await readFile(join(rootDir, 'config.json'), 'utf8'), '{"a":1}');
      assert.equal((await stat(join(rootDir, 'config.json'))).mode & 0o777, 0o644);
      assert.deepEqual(await readdir(rootDir), ['config.json']);
    });

    it('replaces an existing target with exactly the new bytes (shorter than the old) and leaves no temp', async () => {
      await seedTarget('config.json', 'old content that is longer than the new one', 0o644);
      await replaceFileAtomically(storage, 'config.json', encode('new'));
      assert.equal(await readFile(join(rootDir, 'config.json'), 'utf8'), 'new');
      assert.deepEqual(await readdir(rootDir), ['config.json']);
    });

    it('replaces with mode 0o640: the new file has 0o640, whatever the old mode was', async () => {
      await seedTarget('data', 'old', 0o666);
      await replaceFileAtomically(storage, 'data', encode('new'), { mode: 0o640 });
      assert.equal(await readFile(join(rootDir, 'data'), 'utf8'), 'new');
      assert.equal((await stat(join(rootDir, 'data'))).mode & 0o777, 0o640);
      assert.deepEqual(await readdir(rootDir), ['data']);
    });

    it('replaces an empty payload and a file in a subdirectory', async () => {
      await storage.mkdir('sub');
      await replaceFileAtomically(storage, 'sub/empty', new Uint8Array(0));
      assert.equal((await readFile(join(rootDir, 'sub', 'empty'))).length, 0);
      assert.deepEqual(await readdir(join(rootDir, 'sub')), ['empty']);
    });

    it('writeSecretFile creates a new secret with mode 0o600 and leaves no temp', async () => {
      await writeSecretFile(storage, 'key', encode('s3cret'));
      assert.equal(await readFile(join(rootDir, 'key'), 'utf8'), 's3cret');
      assert.equal((await stat(join(rootDir, 'key'))).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(rootDir), ['key']);
    });

    it('writeSecretFile replaces a world-readable file: the result is 0o600 with the new bytes', async () => {
      await seedTarget('key', 'old secret', 0o644);
      await writeSecretFile(storage, 'key', encode('new secret'));
      assert.equal(await readFile(join(rootDir, 'key'), 'utf8'), 'new secret');
      assert.equal((await stat(join(rootDir, 'key'))).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(rootDir), ['key']);
    });

    it('writeSecretFile accepts a narrower private mode (0o400)', async () => {
      await writeSecretFile(storage, 'key', encode('ro'), { mode: 0o400 });
      assert.equal((await stat(join(rootDir, 'key'))).mode & 0o777, 0o400);
      assert.equal(await readFile(join(rootDir, 'key'), 'utf8'), 'ro');
    });
  });

  describe('invalid arguments fail before any I/O', () => {
    for (const mode of [0o1000, -1, 1.5, Number.NaN]) {
      it(`replaceFileAtomically with mode ${String(mode)} → E_INVALID_MODE, target untouched`, async () => {
        await seedTarget('target', 'old', 0o644);
        await assert.rejects(
          replaceFileAtomically(storage, 'target', encode('new'), { mode }),
          carveError(ErrorCodes.INVALID_MODE, 'target'),
        );
        await assertUntouched('target', 'old', 0o644);
      });

      it(`writeSecretFile with mode ${String(mode)} → E_INVALID_MODE, target untouched`, async () => {
        await seedTarget('target', 'old', 0o600);
        await assert.rejects(
          writeSecretFile(storage, 'target', encode('new'), { mode }),
          carveError(ErrorCodes.INVALID_MODE, 'target'),
        );
        await assertUntouched('target', 'old', 0o600);
      });
    }

    for (const mode of [0o640, 0o604, 0o601, 0o777]) {
      it(`writeSecretFile with mode 0o${mode.toString(8)} (group/other access) → E_INVALID_MODE, target untouched`, async () => {
        await seedTarget('key', 'old', 0o600);
        await assert.rejects(
          writeSecretFile(storage, 'key', encode('new'), { mode }),
          carveError(ErrorCodes.INVALID_MODE, 'key'),
        );
        await assertUntouched('key', 'old', 0o600);
      });
    }

    for (const path of ['../x', 'a/../../x', '/etc/x']) {
      it(`a path outside the root (${path}) → E_PATH_OUTSIDE_ROOT, nothing written anywhere`, async () => {
        await assert.rejects(replaceFileAtomically(storage, path, encode('new')), carveError(ErrorCodes.PATH_OUTSIDE_ROOT, path));
        await assert.rejects(writeSecretFile(storage, path, encode('new')), carveError(ErrorCodes.PATH_OUTSIDE_ROOT, path));
        assert.deepEqual(await readdir(rootDir), []);
        assert.deepEqual(await readdir(baseDir), ['root'], 'nothing created beside the root');
      });
    }

    for (const path of ['', '.', 'a/..']) {
      it(`the root itself (${JSON.stringify(path)}) → E_INVALID_PATH`, async () => {
        await assert.rejects(replaceFileAtomically(storage, path, encode('new')), carveError(ErrorCodes.INVALID_PATH, path));
        await assert.rejects(writeSecretFile(storage, path, encode('new')), carveError(ErrorCodes.INVALID_PATH, path));
        assert.deepEqual(await readdir(rootDir), []);
      });
    }
  });

  describe('file-system failures', () => {
    it('a target inside a missing directory → ENOENT, and no file is left anywhere', async () => {
      await assert.rejects(replaceFileAtomically(storage, 'missing/target', encode('new')), carveError(ErrorCodes.ENOENT));
      await assert.rejects(writeSecretFile(storage, 'missing/key', encode('new')), carveError(ErrorCodes.ENOENT));
      assert.deepEqual(await readdir(rootDir), [], 'nothing in the root (no temp, no directory created)');
      assert.deepEqual(await readdir(baseDir), ['root']);
    });

    it('a failed fsync rejects with EIO, is not retried, removes the temp and keeps the old target', async () => {
      await seedTarget('target', 'old', 0o644);
      const failing = new FailingSyncStorage(storage);
      await assert.rejects(replaceFileAtomically(failing, 'target', encode('new')), carveError(ErrorCodes.EIO));
      assert.equal(failing.syncCalls, 1, 'sync called exactly once: a failed fsync is never retried');
      // The write really went through a temp beside the target, created exclusively.
      assert.equal(failing.opened.length, 1);
      const opened = failing.opened[0];
      assert.ok(opened !== undefined && opened.path.startsWith(tempMarker + 'target.'), `temp name: ${opened?.path}`);
      assert.equal(opened.flags, 'wx');
      await assertUntouched('target', 'old', 0o644);
    });

    it('a failed fsync in writeSecretFile: EIO, one sync, temp removed, old secret kept', async () => {
      await seedTarget('key', 'old secret', 0o600);
      const failing = new FailingSyncStorage(storage);
      await assert.rejects(writeSecretFile(failing, 'key', encode('new secret')), carveError(ErrorCodes.EIO));
      assert.equal(failing.syncCalls, 1);
      assert.equal(failing.opened[0]?.mode, 0o600, 'the temp is created with the private mode');
      await assertUntouched('key', 'old secret', 0o600);
    });

    it('a failed fsync when the target does not exist yet leaves no file at all', async () => {
      const failing = new FailingSyncStorage(storage);
      await assert.rejects(replaceFileAtomically(failing, 'target', encode('new')), carveError(ErrorCodes.EIO));
      assert.equal(failing.syncCalls, 1);
      assert.deepEqual(await readdir(rootDir), []);
    });
  });
});
