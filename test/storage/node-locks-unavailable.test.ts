/**
 * Where the lock addon cannot be loaded (no build for the platform), NodeStorage's tryLock, and
 * so a key-value store's open, fail with E_LOCKS_UNSUPPORTED naming the LOCK file; a failed load
 * is not remembered, so once the addon loads, opens work. The addon's load is made to fail by
 * wrapping node's CommonJS loader in this test's own process (each test file runs in its own),
 * before anything in it has loaded the addon; where NodeStorage already holds it (a runner
 * sharing one process between files), no load is attempted and the test is skipped, saying so.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';
import { carveError } from '../kv/kv-helpers.js';

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load };

describe('NodeStorage where the lock addon does not load', () => {
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
          throw new Error("Cannot load addon 'fs-native-extensions.node'", {
            cause: new Error('fs-native-extensions.node: cannot open shared object file: Too many open files (simulated)'),
          });
        }
      }
      return originalLoad.call(this, request, parent, isMain);
    };
  });

  after(async () => {
    loader._load = originalLoad;
    await fs.rm(base, { recursive: true, force: true });
  });

  it('fails tryLock and a store open with E_LOCKS_UNSUPPORTED, then works once the addon loads', async (t) => {
    const storage = await NodeStorage.open(base);
    failuresLeft = 2;
    const handle = await storage.open('plain', 'w');
    let first: unknown;
    try {
      first = await handle.tryLock().then(
        (held) => held,
        (error: unknown) => error,
      );
    } finally {
      await handle.close();
    }
    if (loadAttempts === 0) {
      t.skip('NodeStorage had loaded the lock addon before this file ran');
      return;
    }
    carveError(ErrorCodes.LOCKS_UNSUPPORTED, { path: 'plain' })(first);
    assert.match(
      (first as Error).message,
      /file locks are not available: the fs-native-extensions addon did not load on .*\(Cannot load addon .*: .*Too many open files \(simulated\)\)/,
      'the message ends with the innermost error',
    );
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
