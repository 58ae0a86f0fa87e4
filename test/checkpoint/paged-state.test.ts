/**
 * PagedState on its own: geometry validation, reads and writes, typed errors for pages out of
 * range and spans that do not fit (nothing changes), and the copy-on-write rules driven by hand
 * through the writer's FrozenPages view: a snapshot shows each page as it was when it began
 * whatever the mutator writes; the first write to an uncaptured page copies it once; a captured
 * page is written in place; the original of a copied page is recycled once captured, and the
 * rest when the snapshot ends, so extra memory never exceeds the pages copied.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.js';
import { PagedState } from '../../src/checkpoint/paged-state.js';
import { carveError, copyPages, fillPattern, patternPage } from './helpers.js';

const bytesOf = (...values: number[]) => Uint8Array.from(values);

describe('PagedState basics', () => {
  it('rejects bad geometry with E_INVALID_ARGUMENT', () => {
    for (const geometry of [
      { pageBytes: 0, pageCount: 1 },
      { pageBytes: 12, pageCount: 1 },
      { pageBytes: 4, pageCount: 1 },
      { pageBytes: 128 * 1024 * 1024, pageCount: 1 },
      { pageBytes: 64, pageCount: 0 },
      { pageBytes: 64, pageCount: 1.5 },
      { pageBytes: Number.NaN, pageCount: 2 },
    ]) {
      assert.throws(() => PagedState.create(geometry), carveError(ErrorCodes.INVALID_ARGUMENT), JSON.stringify(geometry));
    }
    assert.throws(() => PagedState.create({ pageBytes: 64, pageCount: 4, spareSlotsPerSlab: 0 }), carveError(ErrorCodes.INVALID_ARGUMENT));
  });

  it('starts zero-filled; write, read, page and mutate see the same bytes', () => {
    const state = PagedState.create({ pageBytes: 64, pageCount: 3 });
    assert.equal(state.sizeBytes, 192);
    assert.ok(state.page(2).every((byte) => byte === 0));
    state.write(1, 10, bytesOf(1, 2, 3));
    assert.deepEqual(state.read(1, 9, 5), bytesOf(0, 1, 2, 3, 0));
    assert.deepEqual(state.page(1).subarray(10, 13), bytesOf(1, 2, 3));
    const returned = state.mutate(2, (page) => {
      page[63] = 9;
      return 'done';
    });
    assert.equal(returned, 'done');
    assert.equal(state.read(2, 63, 1)[0], 9);
    state.write(0, 0, new Uint8Array(64).fill(5)); // a whole page
    assert.ok(state.page(0).every((byte) => byte === 5));
    assert.ok(state.page(1).subarray(20).every((byte) => byte === 0), 'writes stay inside their page');
  });

  it('refuses pages out of range with E_PAGE_OUT_OF_RANGE and changes nothing', () => {
    const state = PagedState.create({ pageBytes: 16, pageCount: 4 });
    fillPattern(state, 1);
    const before = copyPages(state);
    for (const page of [-1, 4, 5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => state.write(page, 0, bytesOf(1)), carveError(ErrorCodes.PAGE_OUT_OF_RANGE), `write ${page}`);
      assert.throws(() => state.read(page, 0, 1), carveError(ErrorCodes.PAGE_OUT_OF_RANGE), `read ${page}`);
      assert.throws(() => state.page(page), carveError(ErrorCodes.PAGE_OUT_OF_RANGE), `page ${page}`);
      assert.throws(() => state.mutate(page, () => undefined), carveError(ErrorCodes.PAGE_OUT_OF_RANGE), `mutate ${page}`);
    }
    assert.deepEqual(copyPages(state), before);
  });

  it('refuses spans that do not fit in the page with E_INVALID_ARGUMENT and writes nothing', () => {
    const state = PagedState.create({ pageBytes: 16, pageCount: 2 });
    assert.throws(() => state.write(0, 10, new Uint8Array(7).fill(1)), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => state.write(0, -1, bytesOf(1)), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => state.write(0, 0.5, bytesOf(1)), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => state.write(0, 0, [1, 2] as unknown as Uint8Array), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => state.read(1, 8, 9), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => state.read(1, 0, -1), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.ok(state.page(0).every((byte) => byte === 0) && state.page(1).every((byte) => byte === 0));
    assert.throws(() => state.mutate(0, () => state.mutate(1, () => undefined)), carveError(ErrorCodes.INVALID_ARGUMENT));
  });
});

describe('PagedState copy-on-write', () => {
  it('a snapshot shows every page as it was when it began, whatever the mutator writes', () => {
    const state = PagedState.create({ pageBytes: 32, pageCount: 4, spareSlotsPerSlab: 1 });
    fillPattern(state, 7);
    const atStart = copyPages(state);
    const frozen = state.frozenPages();
    const epoch = state.beginSnapshot();
    state.write(0, 0, new Uint8Array(32).fill(0xaa));
    state.mutate(2, (page) => page.fill(0xbb, 5, 9));
    state.write(0, 3, bytesOf(1)); // a second write to a page already copied
    for (let page = 0; page < 4; page++) assert.deepEqual(frozen.view(page, epoch), atStart[page], `frozen page ${page}`);
    assert.ok(state.page(0).subarray(4).every((byte) => byte === 0xaa), 'the mutator sees its own writes');
    assert.equal(state.read(0, 3, 1)[0], 1);
    assert.equal(state.memoryStats().frozenCopies, 2, 'pages 0 and 2 were copied once each');
    assert.deepEqual(state.endSnapshot(epoch), { copiesOnWrite: 2 });
  });

  it('writes a captured page in place, without a copy, and never changes what was captured', () => {
    const state = PagedState.create({ pageBytes: 32, pageCount: 3, spareSlotsPerSlab: 1 });
    fillPattern(state, 3);
    const frozen = state.frozenPages();
    const epoch = state.beginSnapshot();
    const captured = frozen.view(1, epoch).slice();
    frozen.release(1, epoch);
    state.write(1, 0, new Uint8Array(32).fill(0xcc));
    assert.equal(state.memoryStats().frozenCopies, 0, 'no copy for a captured page');
    assert.deepEqual(captured, patternPage(32, 1, 3));
    assert.ok(state.page(1).every((byte) => byte === 0xcc));
    state.write(2, 0, bytesOf(0xdd)); // not captured yet: copied
    assert.deepEqual(frozen.view(2, epoch), patternPage(32, 2, 3));
    assert.deepEqual(state.endSnapshot(epoch), { copiesOnWrite: 1 });
  });

  it('returns copies to the pool at the end of a snapshot and reuses them: extra memory is the pages copied', () => {
    const state = PagedState.create({ pageBytes: 64, pageCount: 8, spareSlotsPerSlab: 1 });
    assert.equal(state.memoryStats().spareBytes, 0, 'no spare memory before any snapshot');
    for (let round = 1; round <= 3; round++) {
      const epoch = state.beginSnapshot();
      for (const page of [1, 4, 6]) state.write(page, 0, bytesOf(round));
      assert.equal(state.memoryStats().spareBytes, 3 * 64, `round ${round}: three spare pages, one per page copied`);
      state.endSnapshot(epoch);
    }
    assert.equal(state.memoryStats().copiesOnWriteTotal, 9);
    assert.equal(state.memoryStats().frozenCopies, 0);
    // Writes outside a snapshot never copy.
    state.write(0, 0, bytesOf(1));
    assert.equal(state.memoryStats().copiesOnWriteTotal, 9);
  });

  it('recycles the original of a copied page as soon as the writer has captured it', () => {
    const state = PagedState.create({ pageBytes: 32, pageCount: 4, spareSlotsPerSlab: 1 });
    fillPattern(state, 5);
    const frozen = state.frozenPages();
    const epoch = state.beginSnapshot();
    state.write(0, 0, bytesOf(0xa0)); // copy 1: one spare slab
    assert.deepEqual(frozen.view(0, epoch), patternPage(32, 0, 5));
    frozen.release(0, epoch); // the writer is done with page 0's original
    state.write(1, 0, bytesOf(0xa1)); // copy 2 reuses page 0's original
    assert.equal(state.memoryStats().spareBytes, 32, 'still one spare page');
    assert.equal(state.memoryStats().frozenCopies, 1, 'only page 1 is held');
    assert.deepEqual(frozen.view(1, epoch), patternPage(32, 1, 5), 'the frozen page 1 is intact');
    state.write(2, 0, bytesOf(0xa2)); // page 1 not captured: a new slab
    assert.equal(state.memoryStats().spareBytes, 64);
    assert.deepEqual(frozen.view(2, epoch), patternPage(32, 2, 5));
    assert.equal(state.read(0, 0, 1)[0], 0xa0, 'the mutator kept its writes');
    assert.deepEqual(state.endSnapshot(epoch), { copiesOnWrite: 3 });
  });

  it('refuses a second snapshot while one runs (E_CHECKPOINT_RUNNING), and one begun inside mutate()', () => {
    const state = PagedState.create({ pageBytes: 16, pageCount: 2 });
    const epoch = state.beginSnapshot();
    assert.throws(() => state.beginSnapshot(), carveError(ErrorCodes.CHECKPOINT_RUNNING));
    state.endSnapshot(epoch);
    assert.throws(() => state.mutate(0, () => state.beginSnapshot()), carveError(ErrorCodes.INVALID_ARGUMENT));
    assert.equal(state.snapshotRunning, false);
    const next = state.beginSnapshot();
    assert.ok(next > epoch, 'epochs are never reused');
    state.endSnapshot(next);
  });
});
