/**
 * Group commit, observed through a Storage wrapper (ControlledStorage) that counts datasync
 * calls (an O_DSYNC write, as the log's group writes are, counts as one), tracks how many are in
 * flight, and can hold one open until the test releases it, so every interleaving here is
 * forced deterministically (no timers).
 *
 * Proves: concurrent writers share syncs (64 concurrent puts → every one resolves, far fewer
 * syncs than puts, stats.syncs equals the datasync count, never two datasyncs in flight); a
 * put does not resolve, and its data is not readable, before its datasync completes; a group
 * stops growing at maxGroupBytes. A sync failure poisons the store: every commit of the failing
 * group and every commit queued behind it rejects with E_DB_FAILED, every later write too (never
 * retried into success), datasync is never called again, and reopening recovers the
 * acknowledged commits (exactly those, per the requirement: checked under SimStorage's Linux
 * fsync-EIO semantics on both page-cache behaviours). A failed log write (ENOSPC) fails the
 * store the same way. durability 'none' never syncs the log. A large group's writers are told in
 * slices of ackSliceCommits, one per turn of the event loop, in commit order (refusals after a
 * failure too), so the next write can start after the first slice; close() waits until every
 * writer queued before it has been told, or refused when a sync fails while it waits.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.js';
import { ackSliceCommits } from '../../src/kv/group-commit.js';
import { maxGroupBytes } from '../../src/kv/limits.js';
import { KvStore } from '../../src/kv/store.js';
import type { ProfileName } from '../../src/sim/profiles.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { text } from '../../src/storage/files.js';
import { ControlledStorage, type Hold, b, carveError, seededRandom, settle, tempNodeStorage, track } from './kv-helpers.js';

const dir = 'db';
/**
 * Writes through an O_DSYNC handle count as datasyncs here, so preallocation is off: its fills
 * would count too (test/kv/log-space.test.ts covers fills and group commit together).
 */
const noFills = { logPreallocationBytes: 0 };
const logPath = `${dir}/log-000001.wal`;

describe('group commit shares syncs', () => {
  it('64 concurrent puts: all resolve, 2 syncs (one held open while 63 more arrive), never 2 in flight', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    try {
      const first = storage.holdNextDatasync();
      const puts = [track(db.put(b('key-0'), b('value-0')))];
      await first.reached;
      for (let i = 1; i < 64; i++) puts.push(track(db.put(b(`key-${i}`), b(`value-${i}`))));
      await settle();
      assert.equal(storage.datasyncCalls.length, 1, 'no second datasync starts while the first is in flight');
      assert.equal(puts.filter((p) => p.settled).length, 0, 'nothing resolves before its sync');
      const second = storage.holdNextDatasync();
      first.release();
      await second.reached;
      await settle();
      assert.equal(puts[0]!.settled, true, 'the first group resolved after its sync');
      assert.equal(puts.filter((p) => p.settled).length, 1, 'the second group waits for its own sync');
      assert.equal(storage.datasyncCalls.length, 2);
      second.release();
      await Promise.all(puts.map((p) => p.promise));
      assert.equal(storage.datasyncCalls.length, 2, 'the 63 queued puts shared one datasync');
      assert.equal(db.stats.syncs, storage.datasyncsCompleted);
      assert.equal(db.stats.syncs, 2);
      assert.ok(db.stats.syncs < puts.length);
      assert.equal(db.stats.commits, 64);
      assert.equal(db.stats.groups, 2);
      assert.equal(storage.maxInFlight, 1);
      for (let i = 0; i < 64; i++) assert.equal(text(db.get(b(`key-${i}`))!), `value-${i}`);
    } finally {
      await db.close();
    }
  });

  it('random waves of writers arriving while syncs are held: every group waits for its own sync, one sync at a time', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    const random = seededRandom(0x6c0);
    try {
      const all: Array<{ key: string; put: ReturnType<typeof track<void>>; syncsBefore: number }> = [];
      let issued = 0;
      let hold = storage.holdNextDatasync();
      all.push({ key: 'w-0', put: track(db.put(b('w-0'), b('0'))), syncsBefore: 0 });
      issued += 1;
      for (let wave = 0; wave < 12; wave++) {
        await hold.reached;
        const syncsStarted = storage.datasyncCalls.length;
        const size = 1 + Math.floor(random() * 10);
        for (let i = 0; i < size; i++) {
          const key = `w-${issued++}`;
          all.push({ key, put: track(db.put(b(key), b(key))), syncsBefore: syncsStarted });
        }
        await settle();
        assert.equal(storage.inFlight, 1, 'exactly the held sync is in flight');
        for (const entry of all) {
          // A put issued while sync n was in flight cannot be covered by a sync that started before it.
          if (entry.syncsBefore >= syncsStarted) assert.equal(entry.put.settled, false, `${entry.key} resolved before its own sync`);
          if (!entry.put.settled) assert.equal(db.get(b(entry.key)), undefined, `${entry.key} is readable before its sync`);
        }
        const next = storage.holdNextDatasync();
        hold.release();
        hold = next;
      }
      await hold.reached;
      hold.release();
      await Promise.all(all.map((entry) => entry.put.promise));
      assert.equal(storage.maxInFlight, 1);
      assert.equal(db.stats.syncs, storage.datasyncsCompleted);
      assert.equal(db.stats.commits, issued);
      assert.ok(db.stats.syncs < issued, `${db.stats.syncs} syncs for ${issued} puts`);
      assert.equal(db.stats.syncs, 13, 'one sync for the first put, then one per wave');
    } finally {
      await db.close();
    }
  });

  it('on the real disk, 64 concurrent puts share syncs and stats.syncs equals the datasync count', async () => {
    const temp = await tempNodeStorage('carve-kv-group-');
    const storage = new ControlledStorage(temp.storage);
    const db = await KvStore.open(storage, dir, noFills);
    try {
      await Promise.all(Array.from({ length: 64 }, (_, i) => db.put(b(`key-${i}`), b(`value-${i}`))));
      assert.ok(db.stats.syncs < 64, `${db.stats.syncs} syncs for 64 puts`);
      assert.equal(db.stats.syncs, storage.datasyncCalls.length);
      assert.equal(db.stats.syncs, storage.datasyncsCompleted);
      assert.equal(storage.maxInFlight, 1);
      assert.equal(db.stats.commits, 64);
      await db.close();
      const reopened = await KvStore.open(storage, dir, noFills);
      assert.equal(reopened.size, 64);
      await reopened.close();
    } finally {
      await db.close();
      await temp.cleanup();
    }
  });

  it('a put resolves only after its datasync completes, and is readable exactly from then on', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    try {
      const hold = storage.holdNextDatasync();
      let observed: { completedSyncs: number; readable: boolean } | undefined;
      const put = track(
        db.put(b('k'), b('v')).then(() => {
          observed = { completedSyncs: storage.datasyncsCompleted, readable: db.get(b('k')) !== undefined };
        }),
      );
      await hold.reached;
      await settle();
      assert.equal(put.settled, false, 'pending while its sync is held');
      assert.equal(db.get(b('k')), undefined, 'not readable before the sync');
      assert.equal([...db.entries()].length, 0);
      assert.equal(db.snapshot().get(b('k')), undefined);
      hold.release();
      await put.promise;
      assert.deepEqual(observed, { completedSyncs: 1, readable: true });
      assert.equal(text(db.get(b('k'))!), 'v');
    } finally {
      await db.close();
    }
  });

  it(`a group stops growing at maxGroupBytes (${maxGroupBytes} B)`, async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    try {
      const hold = storage.holdNextDatasync();
      const first = db.put(b('small'), b('s'));
      await hold.reached;
      const big = new Uint8Array(Math.floor(maxGroupBytes * 0.6));
      const rest = [db.put(b('big-1'), big), db.put(b('big-2'), big), db.put(b('tiny'), b('t'))];
      hold.release();
      await Promise.all([first, ...rest]);
      // [small], [big-1] (0.6 of the bound), [big-2, tiny] (big-2 would push big-1's group past it).
      assert.equal(db.stats.groups, 3);
      assert.equal(storage.datasyncCalls.length, 3);
    } finally {
      await db.close();
    }
  });
});

describe(`a group's writers are told in slices of ackSliceCommits (${ackSliceCommits})`, () => {
  /**
   * Group B holds 2.5 slices of writers, each of which puts again as soon as it is told (as a
   * loop of awaited puts does). B's writers are told a slice per turn of the event loop, in
   * commit order. The first of them to run puts again at once and, the flusher being idle,
   * starts a write of its own (held by the test): when that write starts, only B's first slice
   * has been told (told at once, all of B would have been). The other slices are told, a turn
   * each, while it is held.
   */
  it('one slice per turn, in commit order; the next write can start after the first slice', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    const holds: Hold[] = [];
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn += 1;
      if (ticking) setImmediate(tick);
    };
    try {
      const holdA = storage.holdNextDatasync();
      const a = db.put(b('a'), b('a'));
      await holdA.reached;
      const writers = Math.floor(ackSliceCommits * 2.5);
      const toldAtTurn: number[] = [];
      const nextPuts: Array<Promise<void>> = [];
      const firstPuts = Array.from({ length: writers }, (_, i) =>
        db.put(b(`w-${i}`), b('1')).then(() => {
          toldAtTurn[i] = turn;
          nextPuts.push(db.put(b(`w-${i}`), b('2')));
        }),
      );
      const holdB = storage.holdNextDatasync();
      holdA.release();
      await a;
      await holdB.reached;
      assert.equal(db.stats.groups, 1, "A alone is done; B's write is in flight");
      const holdFirstSlice = storage.holdNextDatasync();
      holds.push(holdFirstSlice);
      setImmediate(tick);
      holdB.release();
      await holdFirstSlice.reached;
      assert.equal(nextPuts.length, ackSliceCommits, "when the write after B's starts, B's first slice alone has been told");
      await settle();
      assert.equal(nextPuts.length, writers, 'the other slices are told, one per turn, while that write is held');
      holdFirstSlice.release();
      await Promise.all([...firstPuts, ...nextPuts]);
      // Told in commit order, a slice per turn: turns ascend, and each turn tells one whole slice.
      const slices = new Map<number, number[]>();
      toldAtTurn.forEach((at, i) => slices.set(at, [...(slices.get(at) ?? []), i]));
      const expected = [ackSliceCommits, ackSliceCommits, writers - 2 * ackSliceCommits];
      assert.deepEqual([...slices.values()].map((members) => members.length), expected);
      assert.deepEqual([...slices.values()].flat(), Array.from({ length: writers }, (_, i) => i), 'told in commit order');
      const turns = [...slices.keys()];
      assert.ok(turns.every((at, k) => k === 0 || at > turns[k - 1]!), `each slice in a later turn (${turns.join(', ')})`);
      // A, B, w-0's next put alone (the flusher was idle), then the other 159 (queued while it was held).
      assert.equal(db.stats.groups, 4);
      assert.equal(db.stats.commits, 1 + 2 * writers);
      for (let i = 0; i < writers; i++) assert.equal(text(db.get(b(`w-${i}`))!), '2');
    } finally {
      ticking = false;
      for (const hold of holds) hold.release(); // a failed assertion must not leave close() waiting on a held write
      await db.close();
    }
  });
  it('a failure is told in commit order too: refusals come after every slice of the durable groups before them', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    const holds: Hold[] = [];
    try {
      const holdA = storage.holdNextDatasync();
      const a = db.put(b('a'), b('a'));
      await holdA.reached;
      const told: string[] = [];
      const record = (name: string, put: Promise<void>): Promise<unknown> =>
        put.then(
          () => told.push(`${name} durable`),
          (error: unknown) => told.push(carveError(ErrorCodes.DB_FAILED)(error) ? `${name} refused` : `${name} ?`),
        );
      const bWriters = ackSliceCommits * 2 + 1;
      const durable = Array.from({ length: bWriters }, (_, i) => record(`B${i}`, db.put(b(`b-${i}`), b('1'))));
      const holdB = storage.holdNextDatasync();
      holdA.release();
      await a;
      await holdB.reached;
      const failing = record('C', db.put(b('c'), b('1')));
      const holdC = storage.holdNextDatasync();
      holds.push(holdC);
      holdB.release();
      await holdC.reached; // C's write is in flight while B's slices are told
      const behind = record('D', db.put(b('d'), b('1'))); // queued behind C
      storage.failDatasyncAt = 3; // C's: A's was the first, B's the second
      holdC.release();
      await Promise.all([...durable, failing, behind]);
      const expected = [...Array.from({ length: bWriters }, (_, i) => `B${i} durable`), 'C refused', 'D refused'];
      assert.deepEqual(told, expected);
    } finally {
      for (const hold of holds) hold.release();
      await db.close();
    }
  });
  it('close() resolves only once every writer queued before it has been told', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    const holdA = storage.holdNextDatasync();
    const a = db.put(b('a'), b('a'));
    await holdA.reached;
    const puts = Array.from({ length: ackSliceCommits * 3 }, (_, i) => track(db.put(b(`p-${i}`), b('1'))));
    const closed = db.close();
    holdA.release();
    await a;
    await closed;
    assert.equal(puts.filter((put) => put.settled).length, puts.length, 'every put queued before close() was told before it resolved');
    assert.equal(puts.filter((put) => put.rejected).length, 0);
  });

  it('close() waits for the refusals too, when a sync fails while it waits', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, noFills);
    const holdA = storage.holdNextDatasync();
    const a = track(db.put(b('a'), b('a')));
    await holdA.reached;
    const puts = Array.from({ length: ackSliceCommits * 3 }, (_, i) => track(db.put(b(`p-${i}`), b('1'))));
    const closed = db.close();
    storage.failDatasyncAt = 1; // A's, held: every put queued behind it is refused
    holdA.release();
    await closed;
    assert.equal(a.rejected, true);
    assert.equal(puts.filter((put) => put.rejected).length, puts.length, 'every put queued before close() was refused before it resolved');
  });
});

describe('a sync failure poisons the store', () => {
  /**
   * a, b acknowledged one by one; c's sync is held while d1..d10 queue (the next group); that
   * group's sync is held while e1..e5 queue behind it; then the group's sync fails.
   */
  async function failingRun(storage: ControlledStorage, arm: () => void) {
    const db = await KvStore.open(storage, dir, { ...noFills, checkpointThresholdBytes: 0 });
    await db.put(b('a'), b('1'));
    await db.put(b('b'), b('2'));
    const holdC = storage.holdNextDatasync();
    const c = track(db.put(b('c'), b('3')));
    await holdC.reached;
    const group = Array.from({ length: 10 }, (_, i) => track(db.write([{ type: 'put', key: b(`d${i}`), value: b('x') }, { type: 'put', key: b(`d${i}-pair`), value: b('y') }])));
    const holdD = storage.holdNextDatasync();
    holdC.release();
    await holdD.reached;
    const queued = Array.from({ length: 5 }, (_, i) => track(db.put(b(`e${i}`), b('z'))));
    arm();
    holdD.release();
    await settle();
    return { db, c, group, queued };
  }

  const failed = carveError(ErrorCodes.DB_FAILED);

  it('the failing group and everything queued behind it reject with E_DB_FAILED; later writes too; no datasync ever again', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const { db, c, group, queued } = await failingRun(storage, () => {
      storage.failDatasyncAt = 4;
    });
    try {
      await c.promise; // acknowledged before the failure
      for (const commit of [...group, ...queued]) await assert.rejects(commit.promise, failed);
      const syncsAtFailure = storage.datasyncCalls.length;
      assert.equal(syncsAtFailure, 4);
      for (let i = 0; i < 5; i++) await assert.rejects(db.put(b(`later-${i}`), b('never')), failed);
      await assert.rejects(db.write([{ type: 'del', key: b('a') }]), failed);
      await assert.rejects(async () => db.checkpoint(), failed);
      await settle();
      assert.equal(storage.datasyncCalls.length, syncsAtFailure, 'no datasync after the failure: never retried');
      assert.equal(db.stats.syncs, 3);
      await db.close();
      assert.equal(storage.datasyncCalls.length, syncsAtFailure, 'not even on close');
      // Reopen: recovery from what the storage holds.
      const reopened = await KvStore.open(storage, dir, noFills);
      try {
        for (const key of ['a', 'b', 'c']) assert.notEqual(reopened.get(b(key)), undefined, `acknowledged ${key} survives`);
        for (let i = 0; i < 5; i++) {
          assert.equal(reopened.get(b(`e${i}`)), undefined, 'queued behind the failure: never written');
          assert.equal(reopened.get(b(`later-${i}`)), undefined, 'written after the failure: refused');
        }
        for (let i = 0; i < 10; i++) {
          // The failed group's records reached the page cache; whatever recovery makes of them, each batch is whole.
          assert.equal(reopened.get(b(`d${i}`)) === undefined, reopened.get(b(`d${i}-pair`)) === undefined, `batch d${i} is all or nothing`);
        }
        await reopened.put(b('after'), b('reopen'));
        assert.equal(text(reopened.get(b('after'))!), 'reopen');
      } finally {
        await reopened.close();
      }
    } finally {
      await db.close();
    }
  });

  for (const profile of ['btrfs', 'posix-weak'] as const satisfies readonly ProfileName[]) {
    it(`with Linux fsync-EIO semantics (${profile}), reopening recovers exactly the acknowledged commits`, async () => {
      // The log is created (and synced) under its temp name; every sync under its own name is one
      // of the store's group writes (O_DSYNC), so the 4th fails.
      const sim = new SimStorage({ profile, faults: { failSync: { path: logPath, nth: 4 } } });
      const storage = new ControlledStorage(sim);
      const { db, c, group, queued } = await failingRun(storage, () => undefined);
      try {
        await c.promise;
        for (const commit of [...group, ...queued]) await assert.rejects(commit.promise, failed);
        await assert.rejects(db.put(b('later'), b('never')), failed);
        assert.equal(storage.datasyncCalls.length, 4);
        await db.close();
        assert.equal(storage.datasyncCalls.length, 4, 'no datasync after the failure');
        const reopened = await KvStore.open(sim, dir);
        try {
          assert.deepEqual(
            [...reopened.entries()].map(([k]) => text(k)),
            ['a', 'b', 'c'],
            'exactly the acknowledged commits (not the rejected group, which may vanish again at the next power cut)',
          );
        } finally {
          await reopened.close();
        }
      } finally {
        await db.close();
      }
    });
  }

  it('a failed log write (ENOSPC) fails the group and every later write with E_DB_FAILED; reopening keeps the acknowledged', async () => {
    const probe = new SimStorage();
    const sized = await KvStore.open(probe, dir, noFills);
    for (let i = 0; i < 5; i++) await sized.put(b(`k${i}`), b(`v${i}`));
    await sized.close();
    const used = (await probe.stat(logPath)).sizeBytes;
    const sim = new SimStorage({ faults: { capacityBytes: used + 600 } });
    const storage = new ControlledStorage(sim);
    const db = await KvStore.open(storage, dir, noFills);
    try {
      for (let i = 0; i < 5; i++) await db.put(b(`k${i}`), b(`v${i}`));
      const syncs = storage.datasyncCalls.length;
      const hold = storage.holdNextDatasync();
      const small = track(db.put(b('fits'), b('yes')));
      await hold.reached;
      const tooBig = [track(db.put(b('big'), new Uint8Array(2000))), track(db.put(b('with-big'), b('same group')))];
      hold.release();
      await small.promise;
      for (const commit of tooBig) await assert.rejects(commit.promise, failed);
      await assert.rejects(db.put(b('tiny'), b('t')), failed);
      // An O_DSYNC write counts as a datasync: the small group's, then the failed one; nothing after.
      assert.equal(storage.datasyncCalls.length, syncs + 2);
      assert.equal(storage.datasyncsCompleted, syncs + 1, 'the failed write never completed');
      await db.close();
      const reopened = await KvStore.open(sim, dir);
      try {
        assert.deepEqual([...reopened.entries()].map(([k]) => text(k)), ['fits', 'k0', 'k1', 'k2', 'k3', 'k4']);
      } finally {
        await reopened.close();
      }
    } finally {
      await db.close();
    }
  });
});

describe("durability 'none'", () => {
  it('never calls datasync (or sync) on the log, yet the writes are applied and survive a clean reopen', async () => {
    const storage = new ControlledStorage(new SimStorage());
    const db = await KvStore.open(storage, dir, { durability: 'none' });
    const syncsAtOpen = storage.syncCalls.length;
    try {
      for (let i = 0; i < 20; i++) await db.put(b(`seq-${i}`), b('x'));
      await Promise.all(Array.from({ length: 40 }, (_, i) => db.put(b(`con-${i}`), b('y'))));
      await db.write([{ type: 'del', key: b('seq-0') }]);
      assert.equal(storage.datasyncCalls.length, 0);
      assert.deepEqual(storage.syncCalls.slice(syncsAtOpen).filter((path) => path.includes('.wal')), []);
      assert.equal(db.stats.syncs, 0);
      assert.equal(db.stats.commits, 61);
      assert.equal(db.size, 59);
      await db.close();
      const reopened = await KvStore.open(storage, dir, { durability: 'none' });
      assert.equal(reopened.size, 59);
      await reopened.close();
      assert.equal(storage.datasyncCalls.length, 0);
    } finally {
      await db.close();
    }
  });
});
