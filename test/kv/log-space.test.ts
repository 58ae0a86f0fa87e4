/**
 * Preallocated log space (log-space.ts), and the store writing through it.
 *
 * Proves, with a scripted fill handle whose writes complete only when the test says so: a fill
 * starts on a page boundary at or after the end of every record reserved so far; fills double
 * from 64 KiB up to the chunk size; a record that
 * would reach a fill in flight waits for it, while one below it goes at once (a property over
 * random record sizes and completion orders: no record range ever overlaps a fill's range, and
 * a fill in flight never covers a record that was let through); a failed fill stops filling and
 * nothing else; finish() waits for the fill in flight and closes the handle. Then the store:
 * its log carries zeros ahead of its records, a clean close cuts them off, and every
 * acknowledged write survives a reopen;
 * on a disk too small for the first chunk it opens and works without preallocation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CarveError, ErrorCodes } from '../../src/errors.js';
import { LogSpace, firstFillBytes, spacePageBytes } from '../../src/kv/log-space.js';
import { parseLog } from '../../src/kv/log-format.js';
import { KvStore } from '../../src/kv/store.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readWholeFile, text } from '../../src/storage/files.js';
import type { FileHandle, OpenFlags } from '../../src/storage/storage.js';
import { b, carveError, settle, tempNodeStorage } from './kv-helpers.js';

/** A fill handle whose writes wait until the test completes (or fails) them. */
class ScriptedHandle implements FileHandle {
  readonly path = 'db/log-000001.wal';
  readonly flags: OpenFlags = 'r+';
  readonly dsync = true;
  readonly writes: Array<{ start: number; end: number; done: boolean; complete: (error?: Error) => void }> = [];
  closed = false;

  write(data: Uint8Array, positionBytes: number): Promise<number> {
    assert.ok(data.every((byte) => byte === 0), 'fills write zeros');
    return new Promise((resolve, reject) => {
      const write = {
        start: positionBytes,
        end: positionBytes + data.length,
        done: false,
        complete: (error?: Error) => {
          write.done = true;
          if (error === undefined) resolve(data.length);
          else reject(error);
        },
      };
      this.writes.push(write);
    });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  readonly append = notUsed;
  readonly read = notUsed;
  readonly truncate = notUsed;
  readonly sync = notUsed;
  readonly datasync = notUsed;
  readonly stat = notUsed;
  readonly tryLock = notUsed;
}

function notUsed(): never {
  throw new Error('a fill handle only writes and closes');
}

const chunk = 4 * spacePageBytes;

describe('LogSpace', () => {
  it('starts a fill on a page boundary past the records once less than a chunk is left ahead', async () => {
    const handle = new ScriptedHandle();
    const space = new LogSpace(handle, chunk, chunk);
    assert.equal(space.reserve(100), undefined, 'a record inside the first chunk goes at once');
    assert.equal(handle.writes.length, 1, 'and, with less than a chunk ahead, a fill starts');
    assert.deepEqual([handle.writes[0]!.start, handle.writes[0]!.end], [chunk, 2 * chunk]);
    handle.writes[0]!.complete();
    await settle();
    assert.equal(space.preallocatedBytes, 2 * chunk);
    assert.equal(space.reserve(chunk + 10), undefined);
    assert.equal(handle.writes.length, 2);
    assert.equal(handle.writes[1]!.start, 2 * chunk);
  });

  it('fills start at 64 KiB and double up to the chunk size', async () => {
    const handle = new ScriptedHandle();
    const space = new LogSpace(handle, firstFillBytes, 4 * firstFillBytes);
    let end = 100;
    for (let i = 0; i < 5; i++) {
      assert.equal(space.reserve(end), undefined);
      const fill = handle.writes[i]!;
      fill.complete();
      await settle();
      end = fill.end - 10; // the records reach the end of the fill
    }
    assert.deepEqual(
      handle.writes.map((w) => (w.end - w.start) / firstFillBytes),
      [1, 2, 4, 4, 4],
    );
  });

  it('when records have outrun the space, the fill starts at the next page after them', () => {
    const handle = new ScriptedHandle();
    const space = new LogSpace(handle, spacePageBytes, chunk);
    assert.equal(space.reserve(3 * spacePageBytes + 5), undefined);
    assert.equal(handle.writes[0]!.start, 4 * spacePageBytes);
  });

  it('a record that would reach the fill in flight waits for it; one below it does not', async () => {
    const handle = new ScriptedHandle();
    const space = new LogSpace(handle, chunk, chunk);
    space.reserve(10); // starts the fill of [chunk, 2 chunk)
    assert.equal(space.reserve(chunk), undefined, 'ends exactly where the fill starts: no overlap');
    const waiting = space.reserve(chunk + 1);
    assert.ok(waiting !== undefined);
    let through = false;
    void waiting.then(() => (through = true));
    await settle();
    assert.equal(through, false, 'held while the fill is in flight');
    handle.writes[0]!.complete();
    await settle();
    assert.equal(through, true);
  });

  it('a property: no record ever overlaps a fill in flight, whatever the sizes and completion order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ bytes: fc.integer({ min: 1, max: 3 * chunk }), completeFirst: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (records, chunkPages) => {
          const chunkBytes = chunkPages * spacePageBytes;
          const handle = new ScriptedHandle();
          const space = new LogSpace(handle, spacePageBytes, chunkBytes);
          let end = 48;
          const written: Array<[number, number]> = [];
          for (const record of records) {
            if (record.completeFirst) for (const fill of handle.writes) fill.complete();
            await settle(1);
            const start = end;
            end += record.bytes;
            const waiting = space.reserve(end);
            if (waiting !== undefined) {
              // Let the fills finish so the record can go.
              for (const fill of handle.writes) fill.complete();
              await waiting;
            }
            // The record is written now (over zeros of finished fills, if any): no fill in flight
            // may overlap it or any record before it, nor share a page with one.
            written.push([start, end]);
            for (const fill of handle.writes.filter((f) => !f.done)) {
              assert.equal(fill.start % spacePageBytes, 0);
              for (const [s, e] of written) assert.ok(e <= fill.start, `record [${s}, ${e}) reaches fill [${fill.start}, ${fill.end}) in flight`);
            }
          }
          for (const fill of handle.writes) fill.complete();
          await space.finish();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a failed fill stops filling and nothing else', async () => {
    const handle = new ScriptedHandle();
    const space = new LogSpace(handle, chunk, chunk);
    space.reserve(10);
    handle.writes[0]!.complete(new CarveError(ErrorCodes.ENOSPC, 'no space left on device'));
    await settle();
    assert.equal(space.reserve(chunk + 10), undefined, 'records go on');
    assert.equal(space.reserve(10 * chunk), undefined);
    assert.equal(handle.writes.length, 1, 'no fill after the failure');
    assert.equal(space.preallocatedBytes, chunk);
  });

  it('finish() waits for the fill in flight, then closes the handle; no fill starts after it', async () => {
    const handle = new ScriptedHandle();
    const space = new LogSpace(handle, chunk, chunk);
    space.reserve(10);
    let finished = false;
    const finishing = space.finish().then(() => (finished = true));
    await settle();
    assert.equal(finished, false);
    assert.equal(handle.closed, false);
    handle.writes[0]!.complete();
    await finishing;
    assert.equal(handle.closed, true);
    assert.equal(space.reserve(100 * chunk), undefined);
    assert.equal(handle.writes.length, 1);
  });
});

describe('the store writes its log into preallocated space', () => {
  it('on the real disk: zeros ahead of the records, O_DSYNC writes, every acknowledged put after a reopen', async () => {
    const temp = await tempNodeStorage('carve-kv-space-');
    try {
      const db = await KvStore.open(temp.storage, 'db', { logPreallocationBytes: 2 * spacePageBytes });
      await Promise.all(Array.from({ length: 300 }, (_, i) => db.put(b(`key-${String(i).padStart(4, '0')}`), b(`value-${i}`.repeat(4)))));
      const bytes = await readWholeFile(temp.storage, 'db/log-000001.wal');
      const parsed = parseLog(bytes, 'db/log-000001.wal');
      assert.ok(parsed.records.length > 0);
      assert.equal(parsed.tornBytes, 0);
      assert.ok(parsed.spareBytes > 0, 'zeros are left ahead of the records');
      assert.equal(bytes.length % spacePageBytes, 0, 'the file ends at a fill boundary');
      await db.close();
      const closed = parseLog(await readWholeFile(temp.storage, 'db/log-000001.wal'), 'db/log-000001.wal');
      assert.deepEqual([closed.validEndOffset, closed.spareBytes], [parsed.validEndOffset, 0], 'a clean close cuts the zeros off');
      const reopened = await KvStore.open(temp.storage, 'db');
      try {
        assert.equal(reopened.size, 300);
        assert.equal(text(reopened.get(b('key-0299'))!), 'value-299'.repeat(4));
      } finally {
        await reopened.close();
      }
    } finally {
      await temp.cleanup();
    }
  });

  it('a disk too small for the first chunk: the store opens, works and recovers without preallocation', async () => {
    const sim = new SimStorage({ faults: { capacityBytes: 32 * 1024 } });
    const db = await KvStore.open(sim, 'db'); // the first fill (64 KiB) does not fit
    for (let i = 0; i < 20; i++) await db.put(b(`k${i}`), b(`v${i}`));
    await db.close();
    const parsed = parseLog(await readWholeFile(sim, 'db/log-000001.wal'), 'db/log-000001.wal');
    assert.equal(parsed.spareBytes, 0);
    const reopened = await KvStore.open(sim, 'db');
    try {
      assert.equal(reopened.size, 20);
    } finally {
      await reopened.close();
    }
  });

  it('rejects a preallocation chunk that is not a multiple of the page size', async () => {
    await assert.rejects(KvStore.open(new SimStorage(), 'db', { logPreallocationBytes: 1000 }), carveError(ErrorCodes.INVALID_ARGUMENT));
  });
});

describe('a failed sync anywhere in the log, fills included', () => {
  for (const profile of ['posix-weak', 'btrfs'] as const) {
    it(`${profile}: whichever sync of the log fails, every acknowledged put survives a reopen, and the store fails only through its own writes`, async () => {
      for (let nth = 1; nth <= 12; nth++) {
        const sim = new SimStorage({ profile, faults: { failSync: { path: 'db/log-000001.wal', nth } } });
        const db = await KvStore.open(sim, 'db', { logPreallocationBytes: spacePageBytes });
        const acknowledged: string[] = [];
        let failures = 0;
        for (let round = 0; round < 8; round++) {
          const puts = Array.from({ length: 5 }, (_, i) => {
            const key = `r${round}-k${i}`;
            return db.put(b(key), b('v'.repeat(300))).then(
              () => void acknowledged.push(key),
              (error: unknown) => {
                assert.equal((error as CarveError).code, ErrorCodes.DB_FAILED, `nth ${nth}`);
                failures += 1;
              },
            );
          });
          await Promise.all(puts);
        }
        await db.close();
        const reopened = await KvStore.open(sim, 'db', { logPreallocationBytes: spacePageBytes });
        try {
          for (const key of acknowledged) assert.equal(text(reopened.get(b(key))!), 'v'.repeat(300), `nth ${nth}: ${key} was acknowledged`);
          assert.equal(acknowledged.length + failures, 40, `nth ${nth}: every put either acknowledged or failed`);
          assert.ok(failures > 0, `nth ${nth}: the injected sync failure fired`);
        } finally {
          await reopened.close();
        }
      }
    });
  }
});
