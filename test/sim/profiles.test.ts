/**
 * The five persistence profiles, device kinds and torn-write fault, proven on the SET of crash
 * states the explorer enumerates: each profile shows its distinctive losses (lost renames and
 * entries without a directory fsync, zero-length files from delayed allocation, zero or garbage
 * append tails, 512 B tears, reordering, lost chmods) and the contrasting profile, device or
 * sync does not. Every assertion here names a state that must or must not be reachable.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { explore, type ExplorationResult, type ExploreOptions } from '../../src/explore/explorer.js';
import type { ScenarioVariant, WorkloadContext } from '../../src/explore/scenario.js';
import { atomicReplaceFamily } from '../../src/lab/atomic-replace.js';
import { findVariant } from '../../src/lab/family.js';
import type { ProfileName } from '../../src/sim/profiles.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readWholeFile } from '../../src/storage/files.js';
import type { Storage } from '../../src/storage/storage.js';
import { walkTree } from '../support/storage-tree.js';

// ---- helpers: observe every crash state a workload can leave ----

interface Entry {
  readonly kind: 'file' | 'directory';
  readonly mode: number;
  readonly sizeBytes: number;
  readonly data: Uint8Array;
}

type Snapshot = ReadonlyMap<string, Entry>;

interface Observed {
  /** What the workload had acknowledged when the power failed. */
  readonly acked: readonly string[];
  readonly files: Snapshot;
}

/** Every path under the root, with kind, mode, size and bytes, as the storage shows it. */
async function snapshot(storage: Storage): Promise<Snapshot> {
  const out = new Map<string, Entry>();
  for await (const { path, stat } of walkTree(storage)) {
    if (stat.kind === 'directory') out.set(path, { kind: 'directory', mode: stat.mode, sizeBytes: 0, data: new Uint8Array(0) });
    else out.set(path, { kind: 'file', mode: stat.mode, sizeBytes: stat.sizeBytes, data: await readWholeFile(storage, path) });
  }
  return out;
}

/** A canonical string for a snapshot, to compare states as values. */
function keyOf(files: Snapshot): string {
  return [...files.entries()]
    .map(([path, e]) => `${path}|${e.kind}|${e.mode.toString(8)}|${e.sizeBytes}|${Buffer.from(e.data).toString('hex')}`)
    .join('\n');
}

interface Probe {
  setup?: (storage: Storage) => Promise<void>;
  workload: (storage: Storage, context: WorkloadContext) => Promise<void>;
}

/** Explores the probe and returns every distinct crash state it observed (its check never throws). */
async function observe(
  probe: Probe,
  options: ExploreOptions,
): Promise<{ result: ExplorationResult; states: Observed[] }> {
  const states: Observed[] = [];
  const scenario: ScenarioVariant = {
    scenario: 'probe',
    variant: 'observe',
    expected: 'safe',
    summary: 'records every crash state',
    setup: probe.setup ?? (async () => undefined),
    workload: probe.workload,
    async check(storage, crash) {
      states.push({ acked: [...crash.acknowledged], files: await snapshot(storage) });
    },
  };
  const result = await explore(scenario, options);
  assert.equal(result.violations, 0, `observing must not fail: ${result.counterexample?.violation.detail ?? ''}`);
  assert.equal(states.length, result.states, 'the check ran once per distinct state');
  return { result, states };
}

const fill = (char: string, lengthBytes: number): Uint8Array => new Uint8Array(lengthBytes).fill(char.charCodeAt(0));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const allZero = (data: Uint8Array): boolean => data.every((b) => b === 0);

async function writeFile(storage: Storage, path: string, data: Uint8Array, sync = false, mode?: number): Promise<void> {
  const handle = await storage.open(path, 'wx', mode);
  await handle.write(data, 0);
  if (sync) await handle.sync();
  await handle.close();
}

async function overwriteAt(storage: Storage, path: string, data: Uint8Array, positionBytes = 0): Promise<void> {
  const handle = await storage.open(path, 'r+');
  await handle.write(data, positionBytes);
  await handle.close();
}

const profilesUnderTest: readonly ProfileName[] = ['posix-weak', 'ext4-ordered', 'ext4-writeback', 'ext4-journal', 'btrfs'];

// ---- directory entries ----

describe('directory entries need a directory fsync', () => {
  const payload = fill('r', 300);
  const renameProbe = (syncDirAfter: boolean): Probe => ({
    async workload(storage, context) {
      await writeFile(storage, 'a', payload, true);
      await storage.syncDir('');
      context.acknowledge('a durable');
      await storage.rename('a', 'b');
      context.acknowledge('renamed');
      if (syncDirAfter) {
        await storage.syncDir('');
        context.acknowledge('dir synced');
      }
    },
  });
  const oldNameOnly = (s: Observed) => s.files.has('a') && !s.files.has('b');

  it('posix-weak: a rename of an fsynced file is lost without a directory fsync', async () => {
    const { states } = await observe(renameProbe(false), { profile: 'posix-weak' });
    const afterRename = states.filter((s) => s.acked.includes('renamed'));
    assert.ok(afterRename.some(oldNameOnly), 'some state after the rename still has the old name only');
    assert.ok(afterRename.some((s) => s.files.has('b') && !s.files.has('a')), 'and some has the new name');
  });

  for (const profile of ['ext4-ordered', 'btrfs'] as const) {
    it(`${profile}: the rename is atomic (never both names, never neither) but not durable`, async () => {
      const { states } = await observe(renameProbe(false), { profile });
      const afterRename = states.filter((s) => s.acked.includes('renamed'));
      for (const s of states.filter((st) => st.acked.includes('a durable'))) {
        assert.equal(Number(s.files.has('a')) + Number(s.files.has('b')), 1, keyOf(s.files));
      }
      assert.ok(afterRename.some(oldNameOnly), 'atomic, not durable: the rename may still be lost');
    });
  }

  it('posix-weak: a directory fsync after the rename makes it durable', async () => {
    const { states } = await observe(renameProbe(true), { profile: 'posix-weak' });
    const synced = states.filter((s) => s.acked.includes('dir synced'));
    assert.ok(synced.length > 0);
    for (const s of synced) {
      assert.ok(!oldNameOnly(s), `old name survived a directory fsync: ${keyOf(s.files)}`);
      assert.ok(equal(s.files.get('b')!.data, payload));
    }
  });

  const createProbe: Probe = {
    async workload(storage, context) {
      const handle = await storage.open('f', 'wx');
      await handle.write(fill('f', 100), 0);
      await handle.sync();
      context.acknowledge('synced');
      await handle.close();
    },
  };

  it('posix-weak: an fsynced new file may lose its entry (no safe file flush)', async () => {
    const { states } = await observe(createProbe, { profile: 'posix-weak' });
    const synced = states.filter((s) => s.acked.includes('synced'));
    assert.ok(synced.some((s) => !s.files.has('f')), 'some state after the fsync has no f');
  });

  for (const profile of ['ext4-ordered', 'btrfs'] as const) {
    it(`${profile}: fsync of a new file persists its entry`, async () => {
      const { states } = await observe(createProbe, { profile });
      const synced = states.filter((s) => s.acked.includes('synced'));
      assert.ok(synced.length > 0);
      for (const s of synced) assert.ok(equal(s.files.get('f')?.data ?? new Uint8Array(0), fill('f', 100)), keyOf(s.files));
    });
  }

  it("btrfs persists only the synced file's names; ext4-ordered's journal commit takes unrelated entries too", async () => {
    const probe: Probe = {
      async workload(storage, context) {
        await writeFile(storage, 'g', fill('g', 10));
        await writeFile(storage, 'f', fill('f', 10), true);
        context.acknowledge('f synced');
      },
    };
    const lostG = (states: Observed[]) => states.some((s) => s.acked.includes('f synced') && !s.files.has('g'));
    assert.equal(lostG((await observe(probe, { profile: 'btrfs' })).states), true);
    assert.equal(lostG((await observe(probe, { profile: 'ext4-ordered' })).states), false);
  });
});

// ---- delayed allocation ----

describe('delayed allocation and auto_da_alloc', () => {
  const oldData = fill('o', 600);
  const newData = fill('n', 900);
  const renameProbe = (target: string): Probe => ({
    async setup(storage) {
      await writeFile(storage, 'target', oldData);
    },
    async workload(storage, context) {
      await writeFile(storage, 'tmp', newData);
      await storage.rename('tmp', target);
      await storage.syncDir('');
      context.acknowledge('dir synced');
    },
  });

  it('ext4-ordered: rename to a NEW name after an unsynced write can leave it empty after the directory fsync', async () => {
    const { states } = await observe(renameProbe('fresh'), { profile: 'ext4-ordered' });
    const synced = states.filter((s) => s.acked.includes('dir synced'));
    assert.ok(synced.some((s) => s.files.get('fresh')?.sizeBytes === 0), 'some state has fresh with size 0');
    assert.ok(synced.every((s) => s.files.has('fresh')), 'the directory fsync made the name durable');
  });

  it('ext4-ordered: a rename REPLACING a file never exposes an empty or zero-filled target', async () => {
    const { states } = await observe(renameProbe('target'), { profile: 'ext4-ordered' });
    for (const s of states) {
      const found = s.files.get('target');
      assert.ok(found !== undefined, keyOf(s.files));
      assert.ok(equal(found.data, oldData) || equal(found.data, newData), `target is neither old nor new: ${found.sizeBytes} B`);
    }
    const synced = states.filter((s) => s.acked.includes('dir synced'));
    assert.ok(synced.length > 0 && synced.every((s) => equal(s.files.get('target')!.data, newData)));
  });

  for (const profile of ['ext4-writeback', 'posix-weak'] as const) {
    it(`${profile}: the same replacing rename can expose a zero-filled target`, async () => {
      const { states } = await observe(renameProbe('target'), { profile });
      assert.ok(
        states.some((s) => {
          const found = s.files.get('target');
          return found !== undefined && found.sizeBytes === newData.length && allZero(found.data);
        }),
        'some state has the target at its new size, all zeros',
      );
    });
  }
});

// ---- appends and overwrites ----

describe('append content atomicity', () => {
  const oldData = fill('A', 100);
  const appended = fill('B', 5000); // two 4 KiB chunks: [100, 4096) and [4096, 5100)
  const full = concat(oldData, appended);
  const probe: Probe = {
    async setup(storage) {
      await writeFile(storage, 'log', oldData);
    },
    async workload(storage) {
      const handle = await storage.open('log', 'a');
      await handle.append(appended);
      await handle.close();
    },
  };
  const tailOf = (s: Observed) => s.files.get('log')!.data.subarray(oldData.length);
  const isPrefix = (s: Observed) => {
    const found = s.files.get('log')!;
    return equal(found.data, full.subarray(0, found.sizeBytes));
  };

  it('posix-weak: an unsynced append may land as a zero tail or as garbage', async () => {
    const { states } = await observe(probe, { profile: 'posix-weak' });
    const fullSize = states.filter((s) => s.files.get('log')!.sizeBytes === full.length);
    assert.ok(fullSize.some((s) => allZero(tailOf(s))), 'some state has the full size with an all-zero tail');
    assert.ok(
      fullSize.some((s) => tailOf(s).some((b) => b !== 0 && b !== 'B'.charCodeAt(0))),
      'some state has bytes that are neither zero nor the appended data',
    );
    assert.ok(states.some((s) => !isPrefix(s)));
  });

  it('ext4-ordered: every state holds a correct prefix of the appended data (content-atomic, in order)', async () => {
    const { states } = await observe(probe, { profile: 'ext4-ordered' });
    for (const s of states) assert.ok(isPrefix(s), `not a prefix: ${s.files.get('log')!.sizeBytes} B`);
    const sizes = new Set(states.map((s) => s.files.get('log')!.sizeBytes));
    assert.deepEqual([...sizes].sort((a, b) => a - b), [100, 4096, 5100]);
  });
});

describe('overwrite atomicity', () => {
  const probe: Probe = {
    async setup(storage) {
      await writeFile(storage, 'block', fill('o', 4096));
    },
    async workload(storage) {
      await overwriteAt(storage, 'block', fill('n', 4096));
    },
  };
  /** Per 512-byte sector: 'o', 'n', or '?' (a tear inside a sector). */
  const sectors = (s: Observed): string => {
    const data = s.files.get('block')!.data;
    let out = '';
    for (let i = 0; i < data.length; i += 512) {
      const sector = data.subarray(i, i + 512);
      out += sector.every((b) => b === 0x6f) ? 'o' : sector.every((b) => b === 0x6e) ? 'n' : '?';
    }
    return out;
  };

  it('posix-weak: a 4 KiB overwrite tears at 512 B sectors (but never inside one)', async () => {
    const { states } = await observe(probe, { profile: 'posix-weak' });
    const shapes = new Set(states.map(sectors));
    assert.ok([...shapes].every((shape) => !shape.includes('?')), 'single sectors are atomic');
    assert.ok([...shapes].some((shape) => shape.includes('o') && shape.includes('n')), 'some state mixes old and new sectors');
    assert.equal(shapes.size, 256, 'any subset of the 8 sectors');
  });

  it('ext4-journal: a 4 KiB block overwrite never tears', async () => {
    const { states } = await observe(probe, { profile: 'ext4-journal' });
    assert.deepEqual(new Set(states.map(sectors)), new Set(['oooooooo', 'nnnnnnnn']));
  });

  it('faults.tornWrites: the device tears the same ext4-journal overwrite at 512 B', async () => {
    const { states } = await observe(probe, { profile: 'ext4-journal', faults: { tornWrites: true } });
    const shapes = new Set(states.map(sectors));
    assert.ok([...shapes].some((shape) => shape.includes('o') && shape.includes('n')), 'some state mixes old and new sectors');
    assert.ok([...shapes].every((shape) => !shape.includes('?')));
  });
});

// ---- ordering ----

describe('ordering of unsynced operations', () => {
  const setup = async (storage: Storage): Promise<void> => {
    await writeFile(storage, 'x', fill('x', 8));
  };
  /** Each step issues exactly one effect under ext4-journal, and changes what a reader sees. */
  const steps: ReadonlyArray<(storage: Storage) => Promise<void>> = [
    (storage) => storage.mkdir('d'),
    async (storage) => (await storage.open('d/a', 'wx')).close(),
    (storage) => overwriteAt(storage, 'd/a', fill('h', 5)), // an append to the empty file
    (storage) => storage.chmod('x', 0o600),
    (storage) => overwriteAt(storage, 'x', fill('Z', 2)),
    (storage) => storage.rename('d/a', 'b'),
    (storage) => storage.mkdir('e'),
  ];
  const probe: Probe = {
    setup,
    async workload(storage) {
      for (const step of steps) await step(storage);
    },
  };

  /** The live state after each prefix of the steps. */
  async function prefixStates(profile: ProfileName): Promise<Set<string>> {
    const out: string[] = [];
    for (let k = 0; k <= steps.length; k++) {
      const storage = new SimStorage({ profile });
      await setup(storage);
      for (const step of steps.slice(0, k)) await step(storage);
      out.push(keyOf(await snapshot(storage)));
    }
    const distinct = new Set(out);
    assert.equal(distinct.size, steps.length + 1, 'every step changes the visible state');
    return distinct;
  }

  it('ext4-journal: every crash state is the live state after some prefix of the operations', async () => {
    const prefixes = await prefixStates('ext4-journal');
    const { result, states } = await observe(probe, { profile: 'ext4-journal' });
    assert.equal(result.history.effects.length, steps.length, 'one effect per step');
    const seen = new Set(states.map((s) => keyOf(s.files)));
    for (const key of seen) assert.ok(prefixes.has(key), `a reordered state under ext4-journal:\n${key}`);
    assert.deepEqual(seen, prefixes, 'and every prefix is reachable');
  });

  it('posix-weak: the same operations may land out of order', async () => {
    const prefixes = await prefixStates('posix-weak');
    const { states } = await observe(probe, { profile: 'posix-weak' });
    assert.ok(states.some((s) => !prefixes.has(keyOf(s.files))), 'some state is not a prefix');
    // e.g. the chmod of x landed while the earlier mkdir of d did not.
    assert.ok(states.some((s) => s.files.get('x')!.mode === 0o600 && !s.files.has('d')));
  });
});

// ---- modes ----

describe('chmod durability', () => {
  const probe = (how: 'sync' | 'datasync'): Probe => ({
    async setup(storage) {
      await writeFile(storage, 'p', fill('p', 10), false, 0o644);
    },
    async workload(storage, context) {
      await storage.chmod('p', 0o600);
      context.acknowledge('chmod');
      const handle = await storage.open('p', 'r');
      await (how === 'sync' ? handle.sync() : handle.datasync());
      context.acknowledge('synced');
      await handle.close();
    },
  });

  it('posix-weak: an unsynced chmod may be lost; a later fsync of the file persists it', async () => {
    const { states } = await observe(probe('sync'), { profile: 'posix-weak' });
    const beforeSync = states.filter((s) => s.acked.includes('chmod') && !s.acked.includes('synced'));
    assert.ok(beforeSync.some((s) => s.files.get('p')!.mode === 0o644), 'the chmod may be lost before the fsync');
    const synced = states.filter((s) => s.acked.includes('synced'));
    assert.ok(synced.length > 0 && synced.every((s) => s.files.get('p')!.mode === 0o600));
  });

  it('posix-weak: fdatasync does not persist the mode', async () => {
    const { states } = await observe(probe('datasync'), { profile: 'posix-weak' });
    assert.ok(states.some((s) => s.acked.includes('synced') && s.files.get('p')!.mode === 0o644));
  });
});

// ---- devices ----

describe('device write caches', () => {
  const correct = findVariant([atomicReplaceFamily()], 'atomic-replace', 'correct');

  for (const profile of ['posix-weak', 'ext4-ordered'] as const) {
    it(`${profile}: a device that ignores FLUSH loses even fsynced, dir-fsynced data`, async () => {
      const result = await explore(correct, { profile, device: 'ignores-flush' });
      assert.ok(result.violations > 0, 'the correct protocol fails on a lying disk');
      // The counterexample loses an effect the fsync had sent to the device (and got a FLUSH for).
      const { point, choice } = result.counterexample!;
      const synced = new Set(result.history.ops.filter((op) => op.name === 'fsync').flatMap((op) => op.submitted));
      assert.ok(synced.size > 0);
      assert.ok(point.candidates.some((e) => synced.has(e.id) && !choice.has(e.id)), 'an fsynced effect was lost');
    });

    for (const device of ['volatile-cache', 'no-cache'] as const) {
      it(`${profile}: the correct protocol holds on '${device}'`, async () => {
        const result = await explore(correct, { profile, device });
        assert.equal(result.violations, 0, result.counterexample?.violation.detail);
        assert.ok(result.complete && result.states > 1);
      });
    }
  }
});

describe('every profile', () => {
  for (const profile of profilesUnderTest) {
    it(`${profile}: fsynced data and a directory fsync survive every crash`, async () => {
      const payload = fill('s', 5000);
      const { states } = await observe(
        {
          async workload(storage, context) {
            await storage.mkdir('dir');
            await storage.syncDir('');
            await writeFile(storage, 'dir/s', payload, true);
            await storage.syncDir('dir');
            context.acknowledge('durable');
          },
        },
        { profile },
      );
      const durable = states.filter((s) => s.acked.includes('durable'));
      assert.equal(durable.length, 1, 'one state once everything is synced');
      assert.ok(equal(durable[0]!.files.get('dir/s')!.data, payload));
    });
  }
});

// ---- O_DSYNC ----

describe('O_DSYNC handles', () => {
  const probe = (dsync: boolean): Probe => ({
    async setup(storage) {
      await writeFile(storage, 'p', fill('o', 600), true);
      await storage.syncDir('');
    },
    async workload(storage, context) {
      const handle = await storage.open('p', 'r+', undefined, { dsync });
      await handle.write(fill('n', 600), 0);
      await handle.write(fill('g', 100), 600); // grows the file: its size must be durable too
      context.acknowledge('written');
      await handle.close();
    },
  });
  const whole = (s: Observed): boolean => {
    const data = s.files.get('p')!.data;
    return data.length === 700 && data.subarray(0, 600).every((b) => b === 'n'.charCodeAt(0)) && data.subarray(600).every((b) => b === 'g'.charCodeAt(0));
  };

  for (const profile of ['posix-weak', 'ext4-ordered', 'btrfs'] as const) {
    it(`${profile}: writes through a dsync handle are durable, size included, once they return`, async () => {
      const { states } = await observe(probe(true), { profile });
      const after = states.filter((s) => s.acked.includes('written'));
      assert.ok(after.length > 0 && after.every(whole));
      assert.ok(states.some((s) => !whole(s)), 'a crash inside the writes may lose them');
    });
  }

  it('posix-weak: the same writes through a plain handle may be lost after they return', async () => {
    const { states } = await observe(probe(false), { profile: 'posix-weak' });
    assert.ok(states.some((s) => s.acked.includes('written') && !whole(s)));
  });

  it('a failed sync fails the dsync write with EIO, once', async () => {
    const storage = new SimStorage({ faults: { failSync: { path: 'p', nth: 1 } } });
    const handle = await storage.open('p', 'wx', undefined, { dsync: true });
    await assert.rejects(handle.write(fill('n', 10), 0), (error: unknown) => (error as { code?: string }).code === 'EIO');
    assert.equal(await handle.write(fill('n', 10), 10), 10);
    const names = storage.history.ops.map((op) => `${op.name}:${op.outcome}`);
    assert.deepEqual(names.slice(-4), ['write:ok', 'fdatasync:EIO', 'write:ok', 'fdatasync:ok']);
  });
});
