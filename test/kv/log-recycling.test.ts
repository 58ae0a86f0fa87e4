/**
 * Log recycling (log-recycling.ts) on the real disk:
 * - a checkpoint keeps the log it covers as `spare.wal`, and the next checkpoint makes its new
 *   log from it: the spare's whole size, the old salt plus 1, its old records still after the
 *   header;
 * - a crash right after a log was recycled (the directory copied while the store is open, all
 *   of it synced) recovers the checkpoint and replays none of the old records; a recycler that
 *   keeps the old salt replays them, and an acknowledged value goes back to an old one;
 * - a crash during a checkpoint, with the recycled log followed by a newer one, replays both:
 *   the recycled log's old records after its own are not mistaken for a torn tail;
 * - a spare that is not a log (foreign, or a log whose header is damaged) is removed and the log
 *   made fresh, one that is not a file is left alone; logRecycling: false keeps none, and
 *   removes one left by an earlier open;
 * - a recycled log is opened once under its temp name, and that handle closed once; a spare
 *   that fails to open, or whose header fails to read (its handle closed), is removed and the
 *   log made fresh, so it never blocks a checkpoint or an open; a stale temp under a new log's
 *   name does not block it either;
 * - a spare is cut to twice the checkpoint threshold (or the data file) at most;
 * - a recycled salt is the old one plus 1, wrapping past 2^32 - 1 to 1 (never 0);
 * - an earlier log with a record past where it had been written when the next log began is
 *   E_CORRUPT (a second defence, after the salt, against old records).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KvStore } from '../../src/kv/store.js';
import { encodeBatch } from '../../src/kv/batch-codec.js';
import { type ReadLog, encodeRecord, parseLog } from '../../src/kv/log-format.js';
import { ErrorCodes } from '../../src/errors.js';
import { recycledSalt, spareLogName } from '../../src/kv/log-recycling.js';
import { firstFillBytes } from '../../src/kv/log-space.js';
import { NodeStorage } from '../../src/storage/node.js';
import type { Storage } from '../../src/storage/storage.js';
import { DelegatingStorage } from '../../src/storage/delegating.js';
import { FailingHandleCalls, FailingOpens, RecordingStorage, assertReopenedHolds, b, carveError, latin1 as text, newHold, tempNodeStorages } from './kv-helpers.js';

const temp = tempNodeStorages('carve-kv-recycle-');

/** The log file `name` of the store in `dir`, parsed. */
async function readLog(dir: string, name: string): Promise<ReadLog> {
  const path = join(dir, 'db', name);
  return parseLog(await readFile(path), path);
}

/** The store directory as a crash would leave it if everything synced so far survived (no lock). */
async function crashImage(fromDir: string): Promise<{ storage: NodeStorage; dir: string }> {
  const image = await temp();
  await cp(join(fromDir, 'db'), join(image.dir, 'db'), { recursive: true, filter: (source) => !source.endsWith('LOCK') });
  return image;
}

/**
 * Opens the store in `dir`/db, commits once, puts what `makeSpare` makes where the spare goes,
 * checkpoints (retiring log 1), runs `check`, and closes the store.
 */
async function checkpointOverSpare(storage: Storage, dir: string, makeSpare: (path: string) => Promise<unknown>, check: (db: KvStore) => Promise<void>): Promise<void> {
  const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
  try {
    await db.put(b('a'), b('1'));
    await makeSpare(join(dir, 'db', spareLogName));
    await db.checkpoint();
    await check(db);
  } finally {
    await db.close();
  }
}

describe('log recycling', () => {
  it('keeps the covered log as the spare, and makes the next log from it: its size, its salt plus 1, its old records after the header', async () => {
    const { storage, dir } = await temp();
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    try {
      for (let i = 0; i < 50; i++) await db.put(b(`k${i}`), b(`first ${i}`));
      await db.checkpoint();
      const spare = await readLog(dir, spareLogName);
      const spareSalt = spare.header.salt;
      const spareBytes = spare.bytes.length;
      assert.ok(spareBytes > 50 * 20, `the spare keeps its records and zeros (${spareBytes} B)`);

      for (let i = 0; i < 50; i++) await db.put(b(`k${i}`), b(`second ${i}`));
      await db.checkpoint();
      const recycled = await readLog(dir, 'log-000003.wal');
      assert.equal(recycled.header.salt, recycledSalt(spareSalt), 'the old salt plus 1');
      assert.equal(recycled.bytes.length, spareBytes, 'the spare whole');
      assert.equal(recycled.records.length, 0, 'no record of its own yet');
      assert.ok(recycled.tornBytes > 0, 'its old records are still there, past the header');
      assert.deepEqual((await readdir(join(dir, 'db'))).sort(), ['LOCK', 'data.ckpt', 'log-000003.wal', spareLogName]);

      for (let i = 0; i < 50; i += 2) await db.put(b(`k${i}`), b(`third ${i}`));
    } finally {
      await db.close();
    }
    const reopened = await KvStore.open(storage, 'db');
    try {
      for (let i = 0; i < 50; i++) assert.equal(text(reopened.get(b(`k${i}`))), `${i % 2 === 0 ? 'third' : 'second'} ${i}`);
    } finally {
      await reopened.close();
    }
  });

  for (const [keepsSalt, expected] of [
    [false, 'new'],
    [true, 'old'],
  ] as const) {
    it(`a crash right after a log is recycled ${keepsSalt ? 'with its old salt replays its old records (the naive recycler)' : 'replays none of its old records'}`, async () => {
      const { storage, dir } = await temp();
      const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 }, { recycledLogKeepsSalt: keepsSalt });
      let image: { storage: NodeStorage; dir: string };
      try {
        await db.put(b('balance'), b('old'));
        await db.checkpoint(); // log 1 becomes the spare
        await db.put(b('balance'), b('new')); // acknowledged: in log 2
        await db.checkpoint(); // the data file holds "new"; log 3 is made from log 1's file
        image = await crashImage(dir);
      } finally {
        await db.close();
      }
      const recovered = await KvStore.open(image.storage, 'db');
      try {
        assert.equal(text(recovered.get(b('balance'))), expected);
      } finally {
        await recovered.close();
      }
    });
  }

  // The timeout ends the test should the held rename never be reached.
  it('a crash during a checkpoint replays the recycled log and the newer one: old records after its own are no torn tail', { timeout: 60_000 }, async () => {
    const { storage: disk, dir } = await temp();
    // Holds the data file's rename into place, so that a crash image is taken mid-checkpoint.
    const rename = newHold();
    let holding = false;
    class HoldDataFileRename extends DelegatingStorage {
      override async rename(fromPath: string, toPath: string): Promise<void> {
        if (holding && toPath.endsWith('data.ckpt')) await rename.arrive();
        return super.rename(fromPath, toPath);
      }
    }
    const storage: Storage = new HoldDataFileRename(disk);
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    let image: { storage: NodeStorage; dir: string };
    try {
      for (let i = 0; i < 20; i++) await db.put(b(`k${i}`), b(`v1 ${i}`.repeat(8)));
      await db.checkpoint();
      for (let i = 0; i < 20; i++) await db.put(b(`k${i}`), b(`v2 ${i}`.repeat(8)));
      await db.checkpoint(); // log 3 is recycled from log 1, the longer one
      await db.put(b('k0'), b('in the recycled log'));
      holding = true;
      const checkpoint = db.checkpoint(); // log 4 starts; the data file (naming log 3) is held
      await rename.reached;
      await db.put(b('k1'), b('in the newer log'));
      image = await crashImage(dir);
      holding = false;
      rename.release();
      await checkpoint;
    } finally {
      rename.release(); // should anything above throw, the held checkpoint must not keep close() waiting
      await db.close();
    }
    const recycled = await readLog(image.dir, 'log-000003.wal');
    assert.equal(recycled.records.length, 1, 'one record of its own');
    assert.ok(recycled.tornBytes > 0, 'then its old records');
    const recovered = await KvStore.open(image.storage, 'db');
    try {
      assert.equal(text(recovered.get(b('k0'))), 'in the recycled log');
      assert.equal(text(recovered.get(b('k1'))), 'in the newer log');
      assert.equal(text(recovered.get(b('k2'))), 'v2 2'.repeat(8));
    } finally {
      await recovered.close();
    }
  });

  it('removes a spare that is not a log and makes the log fresh; with logRecycling off, keeps no spare', async () => {
    const { storage, dir } = await temp();
    await checkpointOverSpare(storage, dir, (path) => writeFile(path, 'not a log at all, and longer than a log header is: '.repeat(4)), async () => {
      const fresh = await readLog(dir, 'log-000002.wal');
      assert.deepEqual([fresh.tornBytes, fresh.bytes.length], [0, firstFillBytes], 'a fresh log 2: its first fill of zeros, nothing old');
      assert.equal((await readLog(dir, spareLogName)).header.logNumber, 1, 'the spare is now log 1');
    });
    const plain = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0, logRecycling: false });
    try {
      assert.ok(!(await readdir(join(dir, 'db'))).includes(spareLogName), 'the spare left by the earlier open is removed');
      await plain.put(b('a'), b('2'));
      await plain.checkpoint();
      assert.deepEqual((await readdir(join(dir, 'db'))).sort(), ['LOCK', 'data.ckpt', 'log-000003.wal'], 'the covered log deleted, no spare');
    } finally {
      await plain.close();
    }
  });

  it('removes a spare whose log header is damaged (E_CORRUPT, not foreign) and makes the log fresh', async () => {
    const { storage, dir } = await temp();
    const damaged = Buffer.alloc(4096);
    damaged.write('CARVEKVL', 0, 'latin1'); // the log's magic, then a header whose checksum fails
    await checkpointOverSpare(storage, dir, (path) => writeFile(path, damaged), async () => {
      const fresh = await readLog(dir, 'log-000002.wal');
      assert.deepEqual([fresh.tornBytes, fresh.bytes.length], [0, firstFillBytes], 'a fresh log 2: its first fill of zeros, nothing old');
      assert.equal((await readLog(dir, spareLogName)).header.logNumber, 1, 'the spare is now log 1');
    });
  });

  it('opens a recycled log once under its temp name, and closes that handle once', async () => {
    const { storage: disk } = await temp();
    const storage = new RecordingStorage(disk);
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    try {
      await db.put(b('a'), b('1'));
      await db.checkpoint(); // log 2 made fresh; log 1 becomes the spare
      await db.put(b('b'), b('2'));
      await db.checkpoint(); // log 3 made from the spare
      const ofTemp = (entries: string[]): string[] => entries.filter((entry) => entry.includes('log-000003.wal.tmp'));
      assert.deepEqual(ofTemp(storage.opens), ['db/log-000003.wal.tmp r+'], 'the spare opened once under the temp name');
      assert.deepEqual(ofTemp(storage.closes), ['db/log-000003.wal.tmp'], 'and that handle closed once');
    } finally {
      await db.close();
    }
  });

  const spareFailures = [
    {
      what: 'fails to open',
      make: (disk: Storage) => {
        const failing = new FailingOpens(disk);
        return { failing, inject: () => failing.failOpensOf(/log-000003\.wal\.tmp$/, 1, 'r+'), failed: () => failing.failedOpens, handlesOpened: 1 };
      },
    },
    {
      what: 'fails to read its header',
      make: (disk: Storage) => {
        const failing = new FailingHandleCalls(disk);
        return { failing, inject: () => failing.failNext('read', /log-000003\.wal\.tmp$/), failed: () => failing.failed.read, handlesOpened: 2 };
      },
    },
  ];

  for (const { what, make } of spareFailures) {
    it(`removes a spare that ${what}, closes what it opened, and makes the log fresh`, async () => {
      const { storage: disk, dir } = await temp();
      const { failing, inject, failed, handlesOpened } = make(disk);
      const storage = new RecordingStorage(failing);
      const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
      try {
        await db.put(b('a'), b('1'));
        await db.checkpoint();
        await db.put(b('b'), b('2'));
        inject();
        await db.checkpoint();
        assert.equal(failed(), 1, `the spare ${what}`);
        const ofTemp = (entries: string[]): string[] => entries.filter((entry) => entry.includes('log-000003.wal.tmp'));
        assert.deepEqual(ofTemp(storage.opens), ['db/log-000003.wal.tmp r+', 'db/log-000003.wal.tmp w'], 'the spare, then a fresh temp');
        assert.equal(ofTemp(storage.closes).length, handlesOpened, 'each handle opened is closed once');
        const fresh = await readLog(dir, 'log-000003.wal');
        assert.deepEqual([fresh.tornBytes, fresh.bytes.length], [0, firstFillBytes], 'a fresh log 3: its first fill of zeros, nothing old');
        assert.deepEqual((await readdir(join(dir, 'db'))).sort(), ['LOCK', 'data.ckpt', 'log-000003.wal', spareLogName], 'log 2 is the new spare');
        await db.put(b('c'), b('3'));
      } finally {
        await db.close();
      }
      await assertReopenedHolds(disk, { a: '1', b: '2', c: '3' });
    });
  }

  it('a spare that never opens blocks neither a checkpoint nor an open', async () => {
    const { storage: disk } = await temp();
    const storage = new FailingOpens(disk);
    storage.failOpensOf(/\.wal\.tmp$/, Infinity, 'r+');
    for (let session = 0; session < 2; session++) {
      const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
      try {
        for (let round = 0; round < 3; round++) {
          await db.put(b(`k${session}${round}`), b(`v${session}${round}`));
          await db.checkpoint();
        }
        await db.put(b(`k${session}`), b(`v${session}`)); // so the next open makes a new log, from the spare
      } finally {
        await db.close();
      }
    }
    // Checkpoints 2 and 3 of each session, and the second session's open.
    assert.equal(storage.failedOpens, 5, 'spares that failed to open');
    const reopened = await KvStore.open(disk, 'db');
    try {
      assert.equal(reopened.size, 8);
      assert.deepEqual([text(reopened.get(b('k12'))), text(reopened.get(b('k1')))], ['v12', 'v1']);
    } finally {
      await reopened.close();
    }
  });

  it('makes a log over a stale temp left under its name', async () => {
    const { storage, dir } = await temp();
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    try {
      await db.put(b('a'), b('1'));
      // Longer than the fresh log's first fill, so that only a truncation leaves none of it.
      await writeFile(join(dir, 'db', 'log-000002.wal.tmp'), Buffer.alloc(firstFillBytes + 4096, 0xff));
      await db.checkpoint();
      const fresh = await readLog(dir, 'log-000002.wal');
      assert.deepEqual([fresh.tornBytes, fresh.bytes.length], [0, firstFillBytes], 'a fresh log 2, nothing of the stale temp');
      await db.put(b('b'), b('2'));
    } finally {
      await db.close();
    }
    await assertReopenedHolds(storage, { a: '1', b: '2' });
  });

  it('leaves alone a spare that is not a file, recycling or not', async () => {
    const { storage, dir } = await temp();
    await mkdir(join(dir, 'plain', spareLogName), { recursive: true });
    const plain = await KvStore.open(storage, 'plain', { logRecycling: false });
    await plain.close();
    assert.equal((await stat(join(dir, 'plain', spareLogName))).isDirectory(), true, 'a store that does not recycle opens and leaves it');
  });

  it('makes the log fresh when the spare is not a file', async () => {
    const { storage, dir } = await temp();
    await checkpointOverSpare(storage, dir, (path) => mkdir(path), async (db) => {
      await db.put(b('a'), b('2'));
      assert.equal((await stat(join(dir, 'db', spareLogName))).isDirectory(), true, 'still a directory');
      assert.equal((await readLog(dir, 'log-000002.wal')).records.length, 1, 'a fresh log 2 takes the commits');
    });
  });

  it('cuts the spare to twice the checkpoint threshold, or the data file, at most', async () => {
    const { storage, dir } = await temp();
    // Fills double from 64 KiB, so the log outgrows twice a 4 KiB threshold at once.
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 4096 });
    try {
      for (let i = 0; i < 40; i++) await db.put(b(`k${i}`), b('v'.repeat(100)));
      await db.checkpoint();
      const dataFileBytes = (await stat(join(dir, 'db', 'data.ckpt'))).size;
      const spareBytes = (await stat(join(dir, 'db', spareLogName))).size;
      assert.equal(spareBytes, 2 * Math.max(4096, dataFileBytes), `cut to the cap (data file of ${dataFileBytes} B)`);
    } finally {
      await db.close();
    }
  });

  it('takes the old salt plus 1 for a recycled log, wrapping past 2^32 - 1 to 1', () => {
    assert.equal(recycledSalt(1), 2);
    assert.equal(recycledSalt(0x1234_5678), 0x1234_5679);
    assert.equal(recycledSalt(2 ** 32 - 2), 2 ** 32 - 1);
    assert.equal(recycledSalt(2 ** 32 - 1), 1);
  });

  it('refuses an earlier log with a record past where it had been written when the next log began', async () => {
    const { storage, dir } = await temp();
    const first = await KvStore.open(storage, 'db');
    await first.put(b('a'), b('1'));
    await first.close(); // log 1, cut to its records
    const second = await KvStore.open(storage, 'db'); // log 2 records how far log 1 was written
    await second.put(b('b'), b('2'));
    await second.close();
    const log1 = join(dir, 'db', 'log-000001.wal');
    const parsed = await readLog(dir, 'log-000001.wal');
    const stray = encodeRecord(encodeBatch({ sequence: 99, ops: [{ type: 'put', key: b('a'), value: b('stray') }] }), parsed.header.salt, parsed.validEndOffset);
    await appendFile(log1, stray);
    await assert.rejects(KvStore.open(storage, 'db'), carveError(ErrorCodes.CORRUPT, { path: 'db/log-000001.wal', offset: parsed.validEndOffset }));
  });
});
