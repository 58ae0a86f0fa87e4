/**
 * Where the lock addon cannot be loaded (no build for the platform), NodeStorage's tryLock, and
 * so a key-value store's open, fail with E_LOCKS_UNSUPPORTED naming the LOCK file; a failed load
 * is not remembered, so once the addon loads, opens work. The addon's load is made to fail by
 * wrapping node's CommonJS loader in this test's own process (each test file runs in its own),
 * before anything in it has loaded the addon; where something has (a runner sharing one process
 * between files), the test is skipped, saying so.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Module, { createRequire } from 'node:module';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';
import { carveError } from '../kv/kv-helpers.js';

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load };

/** Whether something in this process loaded the addon already (a runner that shares one process between files). */
const addonAlreadyLoaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('fs-native-extensions'));

describe('NodeStorage where the lock addon does not load', { skip: addonAlreadyLoaded ? 'the lock addon was loaded before this file ran' : false }, () => {
  let base: string;
  const originalLoad = loader._load;
  let failuresLeft = 0;
  let loadAttempts = 0;

  before(async () => {
    base = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'carve-nolocks-'));
    loader._load = function (request, parent, isMain) {
      if (request === 'fs-native-extensions') {
        loadAttempts += 1;
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          // As the addon's loader reports a failed dlopen: the reason only in the cause.
          throw new Error("Cannot load addon 'fs-native-extensions.node'", { cause: new Error('No native build was found for platform=test (simulated)') });
        }
      }
      return originalLoad.call(this, request, parent, isMain);
    };
  });

  after(async () => {
    loader._load = originalLoad;
    await fs.rm(base, { recursive: true, force: true });
  });

  it('fails tryLock and a store open with E_LOCKS_UNSUPPORTED, then works once the addon loads', async () => {
    const storage = await NodeStorage.open(base);
    failuresLeft = 2;
    const handle = await storage.open('plain', 'w');
    try {
      await assert.rejects(handle.tryLock(), (error: unknown) => {
        carveError(ErrorCodes.LOCKS_UNSUPPORTED, { path: 'plain' })(error);
        assert.match((error as Error).message, /file locks are not available: the fs-native-extensions addon did not load on .*Cannot load addon.*: No native build .*simulated/);
        return true;
      });
    } finally {
      await handle.close();
    }
    await assert.rejects(KvStore.open(storage, 'db'), carveError(ErrorCodes.LOCKS_UNSUPPORTED, { path: 'db/LOCK' }));
    assert.equal(loadAttempts, 2, 'the failed load was tried again, not remembered');
    assert.deepEqual(await fs.readdir(nodePath.join(base, 'db')), ['LOCK'], 'the refused open left nothing but the LOCK file');

    const db = await KvStore.open(storage, 'db');
    try {
      await db.put(Buffer.from('k'), Buffer.from('v'));
      await assert.rejects(KvStore.open(storage, 'db'), carveError(ErrorCodes.DB_LOCKED));
    } finally {
      await db.close();
    }
    assert.equal(loadAttempts, 3, 'loaded once, then kept');
  });
});
