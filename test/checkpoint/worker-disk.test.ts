/**
 * The worker writer on the real disk: a 64 MiB state (1,024 pages of 64 KiB) is checkpointed
 * twice by the worker thread while the main thread keeps writing pages; each file, loaded back,
 * equals the state at the moment checkpoint() was called, and only the checkpoint file is left in
 * the directory. A request while the worker writes is refused with E_CHECKPOINT_RUNNING; an
 * error inside the worker (a missing directory) arrives as the same typed error, and the
 * checkpointer works again afterwards.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.js';
import { Checkpointer } from '../../src/checkpoint/checkpointer.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { PagedState } from '../../src/checkpoint/paged-state.js';
import { NodeStorage } from '../../src/storage/node.js';
import { Prng } from '../../src/sim/prng.js';
import { assertPagesEqual, carveError, copyPages } from './helpers.js';

const pageBytes = 64 * 1024;
const pageCount = 1024;

function fillState(state: PagedState, salt: number): void {
  for (let page = 0; page < state.pageCount; page++) {
    state.mutate(page, (bytes) => {
      for (let k = 0; k < bytes.length; k += 8) bytes[k] = (page * 31 + k + salt) & 0xff;
      bytes[1] = page & 0xff;
      bytes[2] = page >> 8;
    });
  }
}

/** Writes pseudo-random pages until `done` settles, yielding to the event loop every 64 writes. */
async function mutateUntil(state: PagedState, done: Promise<unknown>, prng: Prng): Promise<number> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const stamp = new Uint8Array(256).fill(0xee);
  let writes = 0;
  while (!finished) {
    for (let i = 0; i < 64; i++) {
      state.write(prng.below(state.pageCount), prng.below(pageBytes - stamp.length), stamp);
      writes += 1;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return writes;
}

describe('worker writer on the real disk (64 MiB)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carve-checkpoint-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checkpoints a state the mutator keeps writing; each file equals the state when checkpoint() was called', { timeout: 60_000 }, async (t) => {
    const storage = await NodeStorage.open(dir);
    const state = PagedState.create({ pageBytes, pageCount });
    fillState(state, 1);
    const checkpointer = await Checkpointer.open(state, { storage, path: 'galaxy.ckpt', writer: 'worker' });
    assert.equal(checkpointer.writerKind, 'worker');
    const prng = new Prng(7);
    for (const round of [1, 2]) {
      const expected = copyPages(state);
      const running = checkpointer.checkpoint();
      await assert.rejects(checkpointer.checkpoint(), carveError(ErrorCodes.CHECKPOINT_RUNNING));
      const writes = await mutateUntil(state, running, prng);
      const result = await running;
      t.diagnostic(`round ${round}: ${writes} writes during the checkpoint, ${result.copiesOnWrite} pages copied on write`);
      assert.equal(result.sequence, round);
      const loaded = await loadCheckpoint(storage, 'galaxy.ckpt');
      assert.equal(loaded.sequence, round);
      assertPagesEqual(loaded.state, expected, `checkpoint ${round}`);
      assert.deepEqual(await readdir(dir), ['galaxy.ckpt'], 'no temp file is left');
    }
    await checkpointer.close();
  });

  it('an error inside the worker arrives typed; the checkpointer works again afterwards', { timeout: 30_000 }, async () => {
    const storage = await NodeStorage.open(dir);
    const state = PagedState.create({ pageBytes: 4096, pageCount: 16 });
    const missing = await Checkpointer.open(state, { storage, path: 'no/such/dir/x.ckpt', writer: 'worker', sweepTemps: false });
    await assert.rejects(missing.checkpoint(), carveError(ErrorCodes.ENOENT, 'no/such/dir/x.ckpt'));
    assert.equal(state.snapshotRunning, false);
    await missing.close();
    const fine = await Checkpointer.open(state, { storage, path: 'small.ckpt', writer: 'worker' });
    state.write(3, 0, Uint8Array.of(1, 2, 3));
    const result = await fine.checkpoint();
    assert.equal(result.sequence, 1);
    assertPagesEqual((await loadCheckpoint(storage, 'small.ckpt')).state, copyPages(state), 'small checkpoint');
    await fine.close();
  });
});
