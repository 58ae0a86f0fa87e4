/**
 * Copy-on-write under random interleavings (fast-check): a mutator writes and mutates pages
 * while a checkpoint's writer advances one storage operation at a time, at moments the property
 * chooses; checkpoints are requested at random, including while one is running (refused with
 * E_CHECKPOINT_RUNNING, the running one unaffected). Every checkpoint file, loaded back, equals
 * the state at the moment its checkpoint() was called, and the live state always equals a plain
 * model of every write. Small pages and staging chunks make the writer capture pages part-way
 * through a file, so writes land before, during and after the capture of each page.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../src/errors.js';
import { Checkpointer, type CheckpointResult } from '../../src/checkpoint/checkpointer.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { PagedState } from '../../src/checkpoint/paged-state.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { GatedStorage, assertPagesEqual, carveError, settle } from './helpers.js';

type Command =
  | { kind: 'write'; page: number; offset: number; data: Uint8Array }
  | { kind: 'mutate'; page: number; index: number; value: number }
  | { kind: 'checkpoint' }
  | { kind: 'step'; operations: number }
  | { kind: 'finish' };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), page: fc.nat(), offset: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mutate' as const), page: fc.nat(), index: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('step' as const), operations: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'finish' as const }) },
);

interface Running {
  readonly promise: Promise<CheckpointResult>;
  readonly expected: Uint8Array[];
}

async function runInterleaving(pageBytes: number, pageCount: number, chunkBytes: number, commands: readonly Command[]): Promise<number> {
  const sim = new SimStorage();
  const storage = new GatedStorage(sim);
  storage.gate.openFully();
  const state = PagedState.create({ pageBytes, pageCount, spareSlotsPerSlab: 1 });
  const checkpointer = await Checkpointer.open(state, { storage, path: 'u.ckpt', chunkBytes });
  storage.gate.close();
  const model = Array.from({ length: pageCount }, () => new Uint8Array(pageBytes));
  let running: Running | undefined;
  let verified = 0;

  const finish = async (): Promise<void> => {
    if (running === undefined) return;
    storage.gate.openFully();
    const result = await running.promise;
    storage.gate.close();
    const loaded = await loadCheckpoint(sim, 'u.ckpt');
    assert.equal(loaded.sequence, result.sequence);
    assertPagesEqual(loaded.state, running.expected, `checkpoint ${result.sequence}`);
    running = undefined;
    verified += 1;
  };

  for (const command of commands) {
    switch (command.kind) {
      case 'write': {
        const page = command.page % pageCount;
        const offset = command.offset % pageBytes;
        const data = command.data.subarray(0, pageBytes - offset);
        state.write(page, offset, data);
        model[page]!.set(data, offset);
        break;
      }
      case 'mutate': {
        const page = command.page % pageCount;
        const index = command.index % pageBytes;
        state.mutate(page, (bytes) => {
          bytes[index] = command.value;
        });
        model[page]![index] = command.value;
        break;
      }
      case 'checkpoint': {
        if (running !== undefined) {
          await assert.rejects(checkpointer.checkpoint(), carveError(ErrorCodes.CHECKPOINT_RUNNING));
          break;
        }
        const expected = model.map((page) => page.slice());
        running = { promise: checkpointer.checkpoint(), expected };
        await settle(); // The writer runs up to its first gate.
        break;
      }
      case 'step':
        for (let i = 0; i < command.operations; i++) storage.gate.releaseOne();
        await settle();
        if (running !== undefined && !checkpointer.isRunning) await finish(); // It completed within these steps.
        break;
      case 'finish':
        await finish();
        break;
    }
    for (let page = 0; page < pageCount; page++) assert.deepEqual(state.page(page), model[page], `live page ${page}`);
  }
  await finish();
  await checkpointer.close();
  return verified;
}

describe('copy-on-write snapshots under random interleavings', () => {
  it('every checkpoint equals the state when it was requested; the live state equals the model', async () => {
    let checkpointsVerified = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(8, 16, 32),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(7, 24, 64, 4096),
        fc.array(commandArbitrary, { minLength: 1, maxLength: 60 }),
        async (pageBytes, pageCount, chunkBytes, commands) => {
          checkpointsVerified += await runInterleaving(pageBytes, pageCount, chunkBytes, commands);
        },
      ),
      { numRuns: 150 },
    );
    assert.ok(checkpointsVerified > 50, `the property exercised checkpoints (${checkpointsVerified} verified)`);
  });
});
