/**
 * Injected storage faults with Linux semantics: a failed fsync throws EIO, reported once per
 * open file description (errseq_t); the dirty pages are marked clean, so a retry "succeeds"
 * without making the data durable (crash states after the retry still lose it); ext4 keeps the
 * new bytes in the page cache while btrfs reverts them; ENOSPC writes nothing; and
 * replaceFileAtomically under a failing fsync rejects with EIO, never retries, and never
 * exposes the new content under the target name in any crash state.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { replaceFileAtomically } from '../../src/durable/replace.js';
import { explore, recordWorkload } from '../../src/explore/explorer.js';
import type { ScenarioVariant } from '../../src/explore/scenario.js';
import { type ProfileName, profileNames } from '../../src/sim/profiles.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readFileIfExists, readWholeFile } from '../../src/storage/files.js';
import type { Storage } from '../../src/storage/storage.js';

const fill = (char: string, lengthBytes: number): Uint8Array => new Uint8Array(lengthBytes).fill(char.charCodeAt(0));
const equal = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && Buffer.from(a).equals(Buffer.from(b));

/** A rejection predicate: a CarveError with `code`. */
function carveError(code: ErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

async function writeFile(storage: Storage, path: string, data: Uint8Array): Promise<void> {
  const handle = await storage.open(path, 'wx');
  await handle.write(data, 0);
  await handle.close();
}

const oldData = fill('o', 700);
const newData = fill('n', 700);

describe('fsync EIO is reported once per open file description', () => {
  it('the failing fsync throws EIO; a second fsync on the same handle succeeds', async () => {
    const storage = new SimStorage({ faults: { failSync: { nth: 1 } } });
    const handle = await storage.open('f', 'wx');
    await handle.write(newData, 0);
    await assert.rejects(handle.sync(), carveError(ErrorCodes.EIO));
    await handle.sync();
    await handle.sync();
    const fsyncs = storage.history.ops.filter((op) => op.name === 'fsync').map((op) => op.outcome);
    assert.deepEqual(fsyncs, ['EIO', 'ok', 'ok']);
  });

  it('a handle opened before the failure sees EIO once; a handle opened after does not', async () => {
    const storage = new SimStorage({ faults: { failSync: { nth: 1 } } });
    await writeFile(storage, 'f', oldData);
    const failing = await storage.open('f', 'r+');
    const before = await storage.open('f', 'r');
    await failing.write(newData, 0);
    await assert.rejects(failing.sync(), carveError(ErrorCodes.EIO));
    const after = await storage.open('f', 'r');
    await after.sync();
    await assert.rejects(before.sync(), carveError(ErrorCodes.EIO));
    await before.sync();
    await failing.sync();
    await after.sync();
  });

  it('fdatasync fails the same way, and the fault can target one path and the nth sync', async () => {
    const storage = new SimStorage({ faults: { failSync: { path: 'b', nth: 2 } } });
    const a = await storage.open('a', 'wx');
    const b = await storage.open('b', 'wx');
    await a.datasync(); // not 'b': does not count
    await b.datasync(); // the first matching sync
    await a.sync();
    await assert.rejects(b.datasync(), carveError(ErrorCodes.EIO)); // the second
    await b.datasync();
  });
});

describe('after a failed fsync, a successful retry did not make the data durable', () => {
  const scenario: (seen: Uint8Array[]) => ScenarioVariant = (seen) => ({
    scenario: 'probe',
    variant: 'retry-fsync',
    expected: 'unsafe',
    summary: 'overwrite, fsync fails, retry succeeds',
    async setup(storage) {
      await writeFile(storage, 'f', oldData);
    },
    async workload(storage, context) {
      const handle = await storage.open('f', 'r+');
      await handle.write(newData, 0);
      await handle.sync().catch(() => undefined); // EIO
      await handle.sync(); // "succeeds"
      context.acknowledge('retry succeeded');
      await handle.close();
    },
    async check(storage, crash) {
      if (crash.acknowledged.includes('retry succeeded')) seen.push(await readWholeFile(storage, 'f'));
    },
  });

  for (const profile of ['posix-weak', 'ext4-ordered', 'ext4-journal', 'btrfs'] as const) {
    it(`${profile}: some crash state after the successful retry holds the old data`, async () => {
      const seen: Uint8Array[] = [];
      const result = await explore(scenario(seen), { profile, faults: { failSync: { nth: 1 } } });
      assert.equal(result.violations, 0);
      assert.ok(seen.some((data) => equal(data, oldData)), 'the retry hid the loss');
      // Contrast: without the fault, the same fsync makes the new data durable.
      const clean: Uint8Array[] = [];
      await explore(scenario(clean), { profile });
      assert.ok(clean.length > 0 && clean.every((data) => equal(data, newData)));
    });
  }
});

describe('page cache content after a failed fsync', () => {
  async function afterFailure(profile: ProfileName): Promise<Uint8Array> {
    const storage = new SimStorage({ profile, faults: { failSync: { nth: 1 } } });
    await writeFile(storage, 'f', oldData);
    storage.settle(); // the old content is on media
    const handle = await storage.open('f', 'r+');
    await handle.write(fill('n', 900), 0); // overwrite and grow
    await assert.rejects(handle.sync(), carveError(ErrorCodes.EIO));
    await handle.close();
    return readWholeFile(storage, 'f');
  }

  for (const profile of ['ext4-ordered', 'ext4-writeback', 'ext4-journal'] as const) {
    it(`${profile} keeps the new, unpersisted bytes (a read "confirms" data that is not durable)`, async () => {
      assert.ok(equal(await afterFailure(profile), fill('n', 900)));
    });
  }

  it('btrfs reverts the page cache to the on-disk content', async () => {
    assert.ok(equal(await afterFailure('btrfs'), oldData));
  });
});

describe('ENOSPC', () => {
  it('a write that would exceed the capacity throws ENOSPC and writes nothing', async () => {
    const storage = new SimStorage({ faults: { capacityBytes: 1000 } });
    const handle = await storage.open('f', 'wx+');
    await handle.write(fill('a', 600), 0);
    const effectsBefore = storage.history.effects.length;
    // Overlaps the end: [500, 600) exists, [600, 1100) would grow past the capacity.
    await assert.rejects(handle.write(fill('b', 600), 500), carveError(ErrorCodes.ENOSPC));
    await assert.rejects(handle.append(fill('c', 401)), carveError(ErrorCodes.ENOSPC));
    assert.equal((await handle.stat()).sizeBytes, 600);
    assert.ok(equal(await handle.read(1000, 0), fill('a', 600)), 'no partial write');
    assert.equal(storage.history.effects.length, effectsBefore, 'the failed writes issued no effects');
    // Within the capacity everything still works: an overwrite needs no space, growing to exactly 1000 fits.
    await handle.write(fill('b', 600), 0);
    await handle.append(fill('c', 400));
    assert.equal((await handle.stat()).sizeBytes, 1000);
    await assert.rejects(storage.open('g', 'wx').then((g) => g.write(fill('d', 1), 0)), carveError(ErrorCodes.ENOSPC));
    await handle.close();
  });

  it('unlinking a file frees its space', async () => {
    const storage = new SimStorage({ faults: { capacityBytes: 1000 } });
    await writeFile(storage, 'a', fill('a', 800));
    await storage.unlink('a');
    await writeFile(storage, 'b', fill('b', 800)); // Linux: the 800 B of 'a' were freed by the unlink
  });

  it('replacing a file by rename frees the replaced file\'s space', async () => {
    const storage = new SimStorage({ faults: { capacityBytes: 1000 } });
    await writeFile(storage, 'target', fill('a', 400));
    for (let i = 0; i < 3; i++) {
      await writeFile(storage, `tmp${i}`, fill('b', 400));
      await storage.rename(`tmp${i}`, 'target'); // the previous target (no open handle) is freed
    }
  });
});

describe('replaceFileAtomically under a failing fsync', () => {
  const target = 'data/target.txt';
  const scenario = (seen: Array<Uint8Array | undefined>): ScenarioVariant => ({
    scenario: 'probe',
    variant: 'replace-eio',
    expected: 'safe',
    summary: 'replaceFileAtomically when the temp file fsync fails',
    async setup(storage) {
      await storage.mkdir('data');
      await writeFile(storage, target, oldData);
    },
    async workload(storage, context) {
      await replaceFileAtomically(storage, target, newData, { randomSuffix: context.randomSuffix });
      context.acknowledge('replaced');
    },
    async check(storage) {
      seen.push(await readFileIfExists(storage, target));
    },
  });
  const faults = { failSync: { nth: 1 } };

  for (const profile of profileNames) {
    it(`${profile}: rejects with EIO, never retries, and every crash state keeps the old target`, async () => {
      const { history, workloadError } = await recordWorkload(scenario([]), { profile, faults });
      assert.ok(workloadError instanceof CarveError && workloadError.code === ErrorCodes.EIO, String(workloadError));
      const syncs = history.ops.filter((op) => op.name === 'fsync' || op.name === 'fdatasync');
      assert.deepEqual(syncs.map((op) => op.outcome), ['EIO'], 'exactly one fsync, never retried');
      assert.ok(!history.ops.some((op) => op.name === 'rename'), 'no rename after the failure');
      assert.equal(history.acks.length, 0);

      const seen: Array<Uint8Array | undefined> = [];
      const result = await explore(scenario(seen), { profile, faults });
      assert.equal(seen.length, result.states);
      assert.ok(result.states > 1 && result.complete);
      for (const data of seen) {
        assert.ok(equal(data, oldData), `target holds ${data === undefined ? 'nothing' : `${data.length} B`}, not the old content`);
      }
    });
  }
});
