/**
 * The checkpoint file format and its loader: a checkpoint round-trips exactly (any geometry and
 * content, a property test); and a file that is not one whole checkpoint is refused with a typed
 * error naming the path and the offset, never loaded: every truncation (E_TRUNCATED), every
 * single-bit flip anywhere in the file (E_CORRUPT, E_FOREIGN_FILE or E_UNSUPPORTED_FORMAT),
 * trailing bytes, a zero-filled or empty file, foreign files, a newer format version, and
 * splices of two checkpoints. A refused file is left exactly as it was.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { Checkpointer } from '../../src/checkpoint/checkpointer.js';
import { crc32cOf } from '../../src/checkpoint/checksum.js';
import { decodeHeader, encodeHeader, footerBytes, headerBytes, headerField, layoutOf } from '../../src/checkpoint/format.js';
import { loadCheckpoint, verifyCheckpoint } from '../../src/checkpoint/load.js';
import { PagedState } from '../../src/checkpoint/paged-state.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readWholeFile } from '../../src/storage/files.js';
import type { Storage } from '../../src/storage/storage.js';
import { assertPagesEqual, carveError, copyPages, fillPattern } from './helpers.js';

const path = 'world.ckpt';

async function checkpointBytes(state: PagedState, sequence = 0): Promise<Uint8Array> {
  const storage = new SimStorage();
  const checkpointer = await Checkpointer.open(state, { storage, path, sequence });
  await checkpointer.checkpoint();
  await checkpointer.close();
  return readWholeFile(storage, path);
}

async function storageWith(bytes: Uint8Array, name = path): Promise<Storage> {
  const storage = new SimStorage();
  const handle = await storage.open(name, 'w');
  await handle.write(bytes, 0);
  await handle.close();
  return storage;
}

/** Loading `bytes` is refused with one of `codes`, at an offset inside the file; the file is unchanged. */
async function assertRefused(bytes: Uint8Array, codes: readonly ErrorCode[], what: string): Promise<CarveError> {
  const storage = await storageWith(bytes);
  let refused: unknown;
  try {
    await loadCheckpoint(storage, path);
  } catch (error) {
    refused = error;
  }
  assert.ok(refused instanceof CarveError, `${what}: refused with a CarveError, got ${String(refused)}`);
  assert.ok(codes.includes(refused.code), `${what}: code ${refused.code} is one of ${codes.join(', ')} (${refused.message})`);
  assert.equal(refused.path, path, `${what}: the error names the file`);
  assert.ok(refused.offset !== undefined && refused.offset >= 0 && refused.offset <= bytes.length, `${what}: offset ${refused.offset} lies in the file`);
  assert.deepEqual(await readWholeFile(storage, path), bytes, `${what}: the file is left as it was`);
  return refused;
}

function smallState(salt: number): PagedState {
  const state = PagedState.create({ pageBytes: 16, pageCount: 3 });
  fillPattern(state, salt);
  return state;
}

describe('checkpoint format round trip', () => {
  it('lays the file out as header, pages, checksum table, footer', async () => {
    const state = smallState(1);
    const bytes = await checkpointBytes(state, 41);
    const layout = layoutOf(state);
    assert.equal(bytes.length, headerBytes + 3 * 16 + 3 * 4 + footerBytes);
    assert.equal(layout.fileSizeBytes, bytes.length);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'CARVECKP');
    assert.equal(new TextDecoder().decode(bytes.subarray(layout.footerOffsetBytes, layout.footerOffsetBytes + 8)), 'CKPTDONE');
    assert.deepEqual(bytes.subarray(64, 80), state.page(0), 'page 0 follows the header');
    const table = new DataView(bytes.buffer, bytes.byteOffset + layout.tableOffsetBytes, 12);
    assert.equal(table.getUint32(4, true), crc32cOf(state.page(1)), 'the table holds each page CRC32C');
    assert.deepEqual(decodeHeader(bytes.subarray(0, 64), path), { pageBytes: 16, pageCount: 3, sequence: 42 });
  });

  it('round-trips any geometry and content (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 16 }).map((words) => words * 8),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (pageBytes, pageCount, salt, sequence) => {
          const state = PagedState.create({ pageBytes, pageCount });
          fillPattern(state, salt);
          const storage = await storageWith(await checkpointBytes(state, sequence));
          const loaded = await loadCheckpoint(storage, path, { chunkBytes: pageBytes * 2 });
          assert.equal(loaded.sequence, sequence + 1);
          assert.equal(loaded.pageBytes, pageBytes);
          assertPagesEqual(loaded.state, copyPages(state), 'loaded state');
          const info = await verifyCheckpoint(storage, path);
          assert.equal(info.sizeBytes, layoutOf(state).fileSizeBytes);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('checkpoint loader refuses what is not one whole checkpoint', () => {
  it('every truncation: E_TRUNCATED at the end of what is there', async () => {
    const bytes = await checkpointBytes(smallState(2));
    for (let length = 0; length < bytes.length; length++) {
      const refused = await assertRefused(bytes.slice(0, length), [ErrorCodes.TRUNCATED], `truncated to ${length} B`);
      assert.equal(refused.offset, length);
    }
  });

  it('every single-bit flip anywhere in the file', async () => {
    const bytes = await checkpointBytes(smallState(3));
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = bytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const byte = bit >> 3;
      const expected: ErrorCode[] =
        byte < 8 ? [ErrorCodes.FOREIGN_FILE] : byte < 12 ? [ErrorCodes.UNSUPPORTED_FORMAT] : [ErrorCodes.CORRUPT];
      await assertRefused(flipped, expected, `bit ${bit} flipped (byte ${byte})`);
    }
  });

  it('a flipped page byte is reported at that page', async () => {
    const bytes = await checkpointBytes(smallState(4));
    bytes[64 + 16 + 5]! ^= 0x40;
    const refused = await assertRefused(bytes, [ErrorCodes.CORRUPT], 'page 1 damaged');
    assert.equal(refused.offset, 64 + 16);
    assert.match(refused.detail, /page 1 checksum mismatch/);
  });

  it('trailing bytes after the footer: E_CORRUPT where they start', async () => {
    const bytes = await checkpointBytes(smallState(5));
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    const refused = await assertRefused(longer, [ErrorCodes.CORRUPT], 'extended');
    assert.equal(refused.offset, bytes.length);
  });

  it('empty, zero-filled and foreign files', async () => {
    const size = (await checkpointBytes(smallState(6))).length;
    assert.equal((await assertRefused(new Uint8Array(0), [ErrorCodes.TRUNCATED], 'empty')).offset, 0);
    await assertRefused(new Uint8Array(size), [ErrorCodes.CORRUPT], 'zero-filled (a size that landed without its data)');
    await assertRefused(new TextEncoder().encode('{"universe": "not a checkpoint"}\n'.repeat(8)), [ErrorCodes.FOREIGN_FILE], 'JSON');
    await assertRefused(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), [ErrorCodes.FOREIGN_FILE], 'PNG');
    await assertRefused(new TextEncoder().encode('CARVE'), [ErrorCodes.TRUNCATED], 'a prefix of the magic');
  });

  it('a newer format version with a valid header checksum: E_UNSUPPORTED_FORMAT at the version field', async () => {
    const bytes = await checkpointBytes(smallState(7));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(headerField.version, 2, true);
    view.setUint32(headerField.crc, crc32cOf(bytes.subarray(0, headerField.crc)), true);
    const refused = await assertRefused(bytes, [ErrorCodes.UNSUPPORTED_FORMAT], 'version 2');
    assert.equal(refused.offset, headerField.version);
  });

  it('splices of two checkpoints of the same geometry (what an in-place overwrite leaves)', async () => {
    const old = await checkpointBytes(smallState(8), 0);
    const next = await checkpointBytes(smallState(9), 1);
    const layout = layoutOf({ pageBytes: 16, pageCount: 3 });
    const newHeader = old.slice();
    newHeader.set(next.subarray(0, headerBytes), 0);
    await assertRefused(newHeader, [ErrorCodes.CORRUPT], 'new header, old rest');
    const newPage = old.slice();
    newPage.set(next.subarray(64, 80), 64);
    await assertRefused(newPage, [ErrorCodes.CORRUPT], 'new page 0, old rest');
    const allButFooter = next.slice();
    allButFooter.set(old.subarray(layout.footerOffsetBytes), layout.footerOffsetBytes);
    const refused = await assertRefused(allButFooter, [ErrorCodes.CORRUPT], 'new file, old footer');
    assert.equal(refused.offset, layout.footerOffsetBytes + 8, 'the footer sequence disagrees with the header');
  });

  it('a header that declares a huge state but a short file: E_TRUNCATED before anything is allocated', async () => {
    const header = encodeHeader({ pageBytes: 64 * 1024 * 1024, pageCount: 2 ** 29, sequence: 1 });
    const refused = await assertRefused(header, [ErrorCodes.TRUNCATED], 'huge header only');
    assert.equal(refused.offset, headerBytes);
  });

  it('a missing file is ENOENT; a directory is EISDIR', async () => {
    const storage = new SimStorage();
    await assert.rejects(loadCheckpoint(storage, path), carveError(ErrorCodes.ENOENT));
    await storage.mkdir(path);
    await assert.rejects(loadCheckpoint(storage, path), carveError(ErrorCodes.EISDIR));
  });
});
