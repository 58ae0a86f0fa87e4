/**
 * NodeStorage on the real disk: it passes the whole Storage contract (test/storage/contract.ts)
 * in a fresh temporary directory, and beyond it: opening a storage needs an existing directory
 * unless asked to create one, out-of-root paths write nothing next to the root, and a symlink
 * planted inside the root cannot be used to reach files outside it.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { CarveError } from '../../src/errors.js';
import { NodeStorage } from '../../src/storage/node.js';
import { rejectsWith, storageContract } from './contract.js';

/** A fresh directory holding the storage root 'root' (so "next to the root" can be checked). */
async function makeBase(): Promise<string> {
  return fs.mkdtemp(nodePath.join(os.tmpdir(), 'carve-contract-'));
}

storageContract('NodeStorage', async () => {
  const base = await makeBase();
  const storage = await NodeStorage.open(nodePath.join(base, 'root'), { create: true });
  return { storage, cleanup: () => fs.rm(base, { recursive: true, force: true }) };
});


describe('NodeStorage only', () => {
  let base: string;

  before(async () => {
    base = await makeBase();
  });

  after(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  it('open on a missing directory fails with ENOENT and creates nothing', async () => {
    const missing = nodePath.join(base, 'missing');
    await rejectsWith(NodeStorage.open(missing), 'ENOENT', missing);
    await assert.rejects(fs.stat(missing), { code: 'ENOENT' });
  });

  it('open with create makes the directory, parents included', async () => {
    const root = nodePath.join(base, 'made', 'deeper');
    const storage = await NodeStorage.open(root, { create: true });
    assert.ok((await fs.stat(root)).isDirectory());
    assert.equal(storage.rootPath, await fs.realpath(root));
    assert.equal(storage.description, `node:${await fs.realpath(root)}`);
    assert.equal(storage.processId, process.pid);
    assert.deepEqual(await storage.readdir(''), []);
    // Opening an existing directory with create is fine too.
    await NodeStorage.open(root, { create: true });
  });

  it('open on a regular file fails with ENOTDIR', async () => {
    const file = nodePath.join(base, 'plain-file');
    await fs.writeFile(file, 'x');
    await rejectsWith(NodeStorage.open(file), 'ENOTDIR', file);
  });

  it('files written through the storage are on the disk under the root', async () => {
    const root = nodePath.join(base, 'on-disk');
    const storage = await NodeStorage.open(root, { create: true });
    await storage.mkdir('d');
    const handle = await storage.open('d/f', 'w', 0o600);
    await handle.write(new TextEncoder().encode('real bytes'), 0);
    await handle.close();
    assert.equal(await fs.readFile(nodePath.join(root, 'd', 'f'), 'utf8'), 'real bytes');
    assert.equal((await fs.stat(nodePath.join(root, 'd', 'f'))).mode & 0o777, 0o600);
  });

  it('out-of-root paths write nothing next to the root', async () => {
    const outer = await makeBase();
    try {
      const storage = await NodeStorage.open(nodePath.join(outer, 'root'), { create: true });
      for (const bad of ['../x', 'a/../../x']) {
        for (const flags of ['w', 'wx', 'a'] as const) await rejectsWith(storage.open(bad, flags), 'E_PATH_OUTSIDE_ROOT', bad);
        await rejectsWith(storage.mkdir(bad), 'E_PATH_OUTSIDE_ROOT', bad);
      }
      assert.deepEqual(await fs.readdir(outer), ['root']);
      assert.deepEqual(await fs.readdir(nodePath.join(outer, 'root')), []);
    } finally {
      await fs.rm(outer, { recursive: true, force: true });
    }
  });

  describe('a symlink inside the root that points outside', () => {
    let outside: string;
    let storage: NodeStorage;

    before(async () => {
      const world = await fs.mkdtemp(nodePath.join(base, 'symlinks-'));
      outside = nodePath.join(world, 'outside');
      await fs.mkdir(outside);
      const root = nodePath.join(world, 'root');
      await fs.mkdir(root);
      await fs.symlink(outside, nodePath.join(root, 'link'));
      await fs.symlink(nodePath.join(outside, 'secret'), nodePath.join(root, 'file-link'));
      storage = await NodeStorage.open(root);
    });

    beforeEach(async () => {
      // Each test starts from an intact outside file, whatever an earlier failure did to it.
      await fs.writeFile(nodePath.join(outside, 'secret'), 'outside data');
      await fs.chmod(nodePath.join(outside, 'secret'), 0o600);
    });

    async function assertOutsideUntouched(): Promise<void> {
      assert.deepEqual(await fs.readdir(outside), ['secret']);
      assert.equal(await fs.readFile(nodePath.join(outside, 'secret'), 'utf8'), 'outside data');
      assert.equal((await fs.stat(nodePath.join(outside, 'secret'))).mode & 0o777, 0o600);
    }

    it('as a parent directory: opening files through it fails with E_PATH_OUTSIDE_ROOT', async () => {
      for (const flags of ['r', 'r+', 'w', 'wx', 'a'] as const) {
        await rejectsWith(storage.open('link/secret', flags), 'E_PATH_OUTSIDE_ROOT', 'link/secret');
        await rejectsWith(storage.open('link/new', flags), 'E_PATH_OUTSIDE_ROOT', 'link/new');
      }
      await assertOutsideUntouched();
    });

    it('as a parent directory: no other operation reaches through it', async () => {
      await rejectsWith(storage.stat('link/secret'), 'E_PATH_OUTSIDE_ROOT', 'link/secret');
      await rejectsWith(storage.chmod('link/secret', 0o644), 'E_PATH_OUTSIDE_ROOT', 'link/secret');
      await rejectsWith(storage.unlink('link/secret'), 'E_PATH_OUTSIDE_ROOT', 'link/secret');
      await rejectsWith(storage.mkdir('link/sub'), 'E_PATH_OUTSIDE_ROOT', 'link/sub');
      await rejectsWith(storage.rename('link/secret', 'stolen'), 'E_PATH_OUTSIDE_ROOT', 'link/secret');
      await assertOutsideUntouched();
    });

    /** Runs each operation and lists those that did not fail with E_PATH_OUTSIDE_ROOT naming their path. */
    async function escapes(operations: Record<string, [path: string, run: () => Promise<unknown>]>): Promise<string[]> {
      const escaped: string[] = [];
      for (const [label, [path, run]] of Object.entries(operations)) {
        try {
          const handle = await run();
          if (handle !== null && typeof handle === 'object' && 'close' in handle) await (handle as { close(): Promise<void> }).close();
          escaped.push(`${label}: succeeded`);
        } catch (error) {
          if (!(error instanceof CarveError) || error.code !== 'E_PATH_OUTSIDE_ROOT' || error.path !== path) {
            escaped.push(`${label}: ${String(error)}`);
          }
        }
      }
      return escaped;
    }

    it('as the final component: opening it fails with E_PATH_OUTSIDE_ROOT', async () => {
      // Read-only opens first, so that a failure here still leaves the outside file for the next checks.
      const escaped = await escapes(
        Object.fromEntries(
          (['r', 'r+', 'a', 'w'] as const).map((flags) => [`open('file-link', '${flags}')`, ['file-link', () => storage.open('file-link', flags)]]),
        ),
      );
      assert.deepEqual(escaped, []);
      await assertOutsideUntouched();
    });

    it('as the final component: no other operation reaches through it', async () => {
      const escaped = await escapes({
        "stat('file-link')": ['file-link', () => storage.stat('file-link')],
        "readdir('link')": ['link', () => storage.readdir('link')],
        "syncDir('link')": ['link', () => storage.syncDir('link')],
        "chmod('file-link')": ['file-link', () => storage.chmod('file-link', 0o644)],
      });
      assert.deepEqual(escaped, []);
      await assertOutsideUntouched();
    });
  });
});
