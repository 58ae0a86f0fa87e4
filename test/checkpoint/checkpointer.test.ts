/**
 * The Checkpointer's contract with its caller, on SimStorage with the inline writer: a
 * checkpoint requested while one runs is refused with E_CHECKPOINT_RUNNING and the running one
 * completes untouched; a failed checkpoint (fsync EIO, ENOSPC) rejects with that error, leaves
 * the previous checkpoint and the state intact and no temp file, and the next one succeeds;
 * sequence numbers grow per attempt and continue from a loaded checkpoint; leftover temps are
 * swept at open; bad options and use after close fail with typed errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.js';
import { Checkpointer } from '../../src/checkpoint/checkpointer.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { PagedState } from '../../src/checkpoint/paged-state.js';
import { tempMarker } from '../../src/durable/temp-names.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import type { SnapshotWriter } from '../../src/checkpoint/writer.js';
import { GatedStorage, assertPagesEqual, carveError, copyPages, fillPattern, settle } from './helpers.js';

const path = 'state.ckpt';

function newState(salt = 1): PagedState {
  const state = PagedState.create({ pageBytes: 64, pageCount: 5 });
  fillPattern(state, salt);
  return state;
}

describe('Checkpointer: a checkpoint requested while one runs', () => {
  it('is refused with E_CHECKPOINT_RUNNING; the running one completes whole; the next one is accepted', async () => {
    const sim = new SimStorage();
    const storage = new GatedStorage(sim);
    storage.gate.openFully();
    const state = newState();
    const checkpointer = await Checkpointer.open(state, { storage, path });
    storage.gate.close();
    const expected = copyPages(state);
    const first = checkpointer.checkpoint();
    await settle();
    assert.equal(checkpointer.isRunning, true);
    state.write(2, 0, new Uint8Array(64).fill(0xee));
    await assert.rejects(checkpointer.checkpoint(), carveError(ErrorCodes.CHECKPOINT_RUNNING, path));
    storage.gate.releaseOne();
    await settle();
    await assert.rejects(checkpointer.checkpoint(), carveError(ErrorCodes.CHECKPOINT_RUNNING, path));
    storage.gate.openFully();
    const idle = checkpointer.idle();
    const result = await first;
    await idle;
    assert.equal(result.sequence, 1, 'the refused requests took no sequence number');
    assert.equal(result.copiesOnWrite, 1);
    assertPagesEqual((await loadCheckpoint(sim, path)).state, expected, 'the running checkpoint');
    const second = await checkpointer.checkpoint();
    assert.equal(second.sequence, 2);
    assertPagesEqual((await loadCheckpoint(sim, path)).state, copyPages(state), 'the next checkpoint');
    assert.equal(checkpointer.lastSequence, 2);
    await checkpointer.close();
  });

  it('is refused the same way when the state is already being snapshotted by another checkpointer', async () => {
    const storage = new SimStorage();
    const state = newState();
    const one = await Checkpointer.open(state, { storage, path: 'one.ckpt' });
    const two = await Checkpointer.open(state, { storage, path: 'two.ckpt' });
    const running = one.checkpoint();
    await assert.rejects(two.checkpoint(), carveError(ErrorCodes.CHECKPOINT_RUNNING));
    await running;
    await two.checkpoint();
  });
});

describe('Checkpointer: failures lose nothing', () => {
  for (const { name, faults, code } of [
    { name: 'fsync EIO', faults: { failSync: { nth: 2 } }, code: ErrorCodes.EIO },
    { name: 'ENOSPC', faults: { capacityBytes: 64 * 5 * 2 + 200 }, code: ErrorCodes.ENOSPC },
  ] as const) {
    it(`${name}: rejects with ${code}; the previous checkpoint, the state and the directory are intact`, async () => {
      const storage = new SimStorage({ faults });
      const state = newState(3);
      const checkpointer = await Checkpointer.open(state, { storage, path });
      const first = await checkpointer.checkpoint();
      const firstPages = copyPages(state);
      state.write(0, 0, new Uint8Array(64).fill(0x11));
      const live = copyPages(state);
      await assert.rejects(checkpointer.checkpoint(), carveError(code, path));
      assert.equal(checkpointer.isRunning, false);
      assert.deepEqual(copyPages(state), live, 'the in-memory state is untouched');
      assert.deepEqual(await storage.readdir(''), [path], 'no temp file is left behind');
      const loaded = await loadCheckpoint(storage, path);
      assert.equal(loaded.sequence, first.sequence);
      assertPagesEqual(loaded.state, firstPages, 'the previous checkpoint');
      if (code === ErrorCodes.ENOSPC) return; // The disk is still full.
      const retry = await checkpointer.checkpoint();
      assert.equal(retry.sequence, 3, 'a failed attempt used up its sequence number');
      assertPagesEqual((await loadCheckpoint(storage, path)).state, live, 'the retried checkpoint');
    });
  }

  it('a custom writer that throws at once still ends the snapshot', async () => {
    const state = newState();
    let calls = 0;
    const throwing: SnapshotWriter = {
      kind: 'throwing',
      write() {
        calls += 1;
        throw new Error('no disk today');
      },
      async close() {},
    };
    const checkpointer = await Checkpointer.open(state, { storage: new SimStorage(), path, writer: () => throwing });
    await assert.rejects(checkpointer.checkpoint(), /no disk today/);
    assert.equal(state.snapshotRunning, false);
    await assert.rejects(checkpointer.checkpoint(), /no disk today/);
    assert.equal(calls, 2);
  });
});

describe('Checkpointer: sequence numbers, temps, options', () => {
  it('continues the sequence of the checkpoint it was loaded from', async () => {
    const storage = new SimStorage();
    const first = await Checkpointer.open(newState(), { storage, path, sequence: 41 });
    assert.equal((await first.checkpoint()).sequence, 42);
    const loaded = await loadCheckpoint(storage, path);
    const second = await Checkpointer.open(loaded.state, { storage, path, sequence: loaded.sequence });
    assert.equal(second.lastSequence, 42);
    assert.equal((await second.checkpoint()).sequence, 43);
  });

  it('sweeps temp files a crash left beside the checkpoint, and only those', async () => {
    const storage = new SimStorage();
    for (const name of [`${tempMarker}${path}.abc123`, `${tempMarker}other.ckpt.def456`, 'notes.txt']) {
      const handle = await storage.open(name, 'wx');
      await handle.write(new Uint8Array(10), 0);
      await handle.close();
    }
    await Checkpointer.open(newState(), { storage, path });
    assert.deepEqual(await storage.readdir(''), [`${tempMarker}other.ckpt.def456`, 'notes.txt']);
  });

  it('refuses bad options, checkpoint() inside mutate(), and use after close', async () => {
    const storage = new SimStorage();
    const state = newState();
    await assert.rejects(Checkpointer.open(state, { storage, path: '' }), carveError(ErrorCodes.INVALID_PATH));
    await assert.rejects(Checkpointer.open(state, { storage, path, sequence: -1 }), carveError(ErrorCodes.INVALID_ARGUMENT));
    await assert.rejects(Checkpointer.open(state, { storage, path, chunkBytes: 0 }), carveError(ErrorCodes.INVALID_ARGUMENT));
    await assert.rejects(Checkpointer.open(state, { storage, path, writer: 'worker' }), carveError(ErrorCodes.INVALID_ARGUMENT));
    const checkpointer = await Checkpointer.open(state, { storage, path });
    let inside: Promise<unknown> | undefined;
    state.mutate(0, () => {
      inside = checkpointer.checkpoint();
    });
    await assert.rejects(inside!, carveError(ErrorCodes.INVALID_ARGUMENT));
    await checkpointer.close();
    await assert.rejects(checkpointer.checkpoint(), carveError(ErrorCodes.CHECKPOINTER_CLOSED, path));
  });
});
