/**
 * The crash explorer itself: it reports exact counts (crash points, choices, distinct states,
 * completeness), deduplicates states by content and acknowledgements, falls back to seeded
 * sampling past its bound (deterministic per seed), and meets every lab variant's expectation
 * (unsafe variants fail under posix-weak, safe ones hold under every profile). Counterexamples
 * are shrunk to a 1-minimal state that still fails when replayed from its replay id; bad
 * replay ids and unknown profiles fail with typed errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { crashPoints } from '../../src/explore/crash-points.js';
import { type Choice, imageOf, statesOf, withEffect } from '../../src/explore/crash-states.js';
import {
  type FoundViolation,
  checkImage,
  defaultBoundPerPoint,
  defaultSeed,
  explore,
  recordWorkload,
  shrink,
} from '../../src/explore/explorer.js';
import { replay } from '../../src/explore/replay.js';
import { formatReplayId, parseReplayId } from '../../src/explore/replay-id.js';
import type { ScenarioVariant, WorkloadContext } from '../../src/explore/scenario.js';
import { replayTargetOf } from '../../src/explore/trace.js';
import { labFamilies } from '../../src/lab/registry.js';
import type { History } from '../../src/sim/history.js';
import { type ProfileName, profileNames } from '../../src/sim/profiles.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readWholeFile } from '../../src/storage/files.js';
import type { Storage } from '../../src/storage/storage.js';

const fill = (char: string, lengthBytes: number): Uint8Array => new Uint8Array(lengthBytes).fill(char.charCodeAt(0));

function carveError(code: ErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, code, (error as Error).message);
    return true;
  };
}

/** A probe scenario: `file` starts with `initial`; the workload runs; the check records file contents. */
function probe(
  initial: Uint8Array,
  workload: (storage: Storage, context: WorkloadContext) => Promise<void>,
  seen: string[],
  files: readonly string[] = ['f'],
): ScenarioVariant {
  return {
    scenario: 'probe',
    variant: 'observe',
    expected: 'safe',
    summary: 'records each crash state',
    async setup(storage) {
      for (const name of files) {
        const handle = await storage.open(name, 'wx');
        await handle.write(initial, 0);
        await handle.close();
      }
    },
    workload,
    async check(storage, crash) {
      const parts: string[] = [`acked=${crash.acknowledged.length}`];
      for (const name of files) parts.push(Buffer.from(await readWholeFile(storage, name)).toString('hex'));
      seen.push(parts.join('|'));
    },
  };
}

const overwrite = (data: Uint8Array, names: readonly string[] = ['f']) =>
  async (storage: Storage): Promise<void> => {
    for (const name of names) {
      const handle = await storage.open(name, 'r+');
      await handle.write(data, 0);
      await handle.close();
    }
  };

describe('counts', () => {
  it('reports crash points, choices, distinct states and completeness exactly', async () => {
    // posix-weak: a 1024-byte overwrite is two independent 512-byte sectors → 4 choices after the write.
    const seen: string[] = [];
    const progress: Array<{ pointsDone: number; pointsTotal: number; statesChecked: number }> = [];
    const result = await explore(probe(fill('o', 1024), overwrite(fill('n', 1024)), seen), {
      profile: 'posix-weak',
      onProgress: (p) => progress.push(p),
    });
    assert.equal(result.crashPoints, 2, 'before the workload, and after the write (open and close change nothing)');
    assert.equal(result.choices, 1 + 4);
    assert.equal(result.states, 4, 'the all-lost choice equals the initial state');
    assert.equal(result.complete, true);
    assert.equal(result.violations, 0);
    assert.equal(result.counterexample, undefined);
    assert.equal(seen.length, 4);
    assert.equal(new Set(seen).size, 4);
    assert.equal(result.boundPerPoint, defaultBoundPerPoint);
    assert.equal(result.seed, defaultSeed);
    assert.deepEqual(progress.map((p) => [p.pointsDone, p.pointsTotal]), [[1, 2], [2, 2]]);
    assert.equal(progress.at(-1)!.statesChecked, result.states);
  });

  it('the same workload under ext4-journal is one atomic 4 KiB block: 2 states', async () => {
    const seen: string[] = [];
    const result = await explore(probe(fill('o', 1024), overwrite(fill('n', 1024)), seen), { profile: 'ext4-journal' });
    assert.equal(result.states, 2);
    assert.equal(result.choices, 1 + 2);
  });
});

describe('deduplication', () => {
  it('states identical by content are checked once', async () => {
    const seen: string[] = [];
    const result = await explore(probe(fill('o', 1024), overwrite(fill('o', 1024)), seen), { profile: 'posix-weak' });
    assert.equal(result.choices, 5);
    assert.equal(result.states, 1);
    assert.deepEqual(seen.length, 1);
  });

  it('states count the distinct contents', async () => {
    const seen: string[] = [];
    const half = new Uint8Array(1024).fill(0x6f);
    half.fill(0x6e, 512); // the first sector rewrites what is there; only the second changes
    const result = await explore(probe(fill('o', 1024), overwrite(half), seen), { profile: 'posix-weak' });
    assert.equal(result.choices, 5);
    assert.equal(result.states, 2);
    assert.equal(new Set(seen).size, 2);
  });

  it('the same content with a different acknowledgement is a different state', async () => {
    const seen: string[] = [];
    const result = await explore(
      probe(fill('o', 1024), async (storage, context) => {
        await overwrite(fill('o', 1024))(storage);
        context.acknowledge('done');
      }, seen),
      { profile: 'posix-weak' },
    );
    assert.equal(result.states, 2);
    assert.deepEqual(new Set(seen.map((s) => s.split('|')[0])), new Set(['acked=0', 'acked=1']));
  });
});

describe('bounded enumeration and sampling', () => {
  // Three files, each 4 KiB overwritten unsynced: 24 independent sectors under posix-weak.
  const names = ['f', 'g', 'h'];
  const run = async (seed: number, boundPerPoint = 2) => {
    const seen: string[] = [];
    const result = await explore(probe(fill('o', 4096), overwrite(fill('n', 4096), names), seen, names), {
      profile: 'posix-weak',
      boundPerPoint,
      seed,
    });
    return { result, seen };
  };

  it('past the bound the result is incomplete but still checks sampled states', async () => {
    const { result } = await run(1);
    assert.equal(result.complete, false);
    assert.ok(result.states > 0);
    assert.ok(result.choices <= 2 * result.crashPoints, 'at most the bound per point');
    assert.equal(result.boundPerPoint, 2);
  });

  it('a big enough bound enumerates exhaustively', async () => {
    const seen: string[] = [];
    const result = await explore(probe(fill('o', 1024), overwrite(fill('n', 1024)), seen), { profile: 'posix-weak', boundPerPoint: 4 });
    assert.equal(result.complete, true);
    const small = await explore(probe(fill('o', 1024), overwrite(fill('n', 1024)), []), { profile: 'posix-weak', boundPerPoint: 3 });
    assert.equal(small.complete, false);
  });

  it('the same seed gives identical results; another seed can differ', async () => {
    const a = await run(1);
    const b = await run(1);
    const summary = (r: typeof a) => ({
      states: r.result.states,
      choices: r.result.choices,
      crashPoints: r.result.crashPoints,
      complete: r.result.complete,
      seen: r.seen,
    });
    assert.deepEqual(summary(b), summary(a));
    let differs = false;
    for (const seed of [2, 3, 4, 5, 6, 7]) {
      const other = await run(seed);
      assert.equal(other.result.seed, seed);
      if (JSON.stringify(other.seen) !== JSON.stringify(a.seen)) differs = true;
    }
    assert.ok(differs, 'some other seed samples different states');
  });

  it('rejects a bound that is not a positive integer', async () => {
    const scenario = probe(fill('o', 10), overwrite(fill('n', 10)), []);
    for (const bound of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(explore(scenario, { profile: 'posix-weak', boundPerPoint: bound }), carveError(ErrorCodes.INVALID_ARGUMENT));
    }
  });
});

// ---- the lab ----

const variants = labFamilies().flatMap((family) => family.variants);
const lostOrTorn = (found: Pick<FoundViolation, 'point' | 'choice'>): number =>
  found.point.candidates.filter((e) => !found.choice.has(e.id) || found.choice.get(e.id) === 'garbage').length;

/** The explorer's first violation, before shrinking: the same search order and deduplication. */
async function firstViolation(scenario: ScenarioVariant, profile: ProfileName): Promise<{ history: History; found: FoundViolation }> {
  const { history } = await recordWorkload(scenario, { profile });
  const seen = new Set<string>();
  for (const point of crashPoints(history)) {
    for (const choice of statesOf(point, defaultBoundPerPoint, defaultSeed).choices) {
      const image = imageOf(history, point, choice);
      const key = `${image.contentHash()}|${point.acknowledged.length}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const violation = await checkImage(scenario, image, point.acknowledged, profile, 'volatile-cache');
      if (violation !== undefined) return { history, found: { point, choice, violation, image } };
    }
  }
  assert.fail(`${scenario.scenario}/${scenario.variant} has no violation`);
}

describe('lab variants meet their expectations', () => {
  it('the lab has unsafe and safe variants', () => {
    assert.ok(variants.some((v) => v.expected === 'unsafe'));
    assert.ok(variants.some((v) => v.expected === 'safe'));
  });

  for (const variant of variants) {
    const name = `${variant.scenario}/${variant.variant}`;
    if (variant.expected === 'unsafe') {
      it(`${name} (unsafe) fails under posix-weak`, async () => {
        const result = await explore(variant, { profile: 'posix-weak' });
        assert.ok(result.violations > 0);
        // A counterexample needs no exhaustive search (a safe claim does, below).
        assert.equal(result.expected, 'unsafe');
        assert.ok(result.counterexample !== undefined);
      });
    } else {
      it(`${name} (safe) holds under every profile`, async () => {
        for (const profile of profileNames) {
          const result = await explore(variant, { profile });
          assert.equal(result.violations, 0, `${profile}: ${result.counterexample?.violation.detail ?? ''}`);
          assert.ok(result.complete && result.states > 1, profile);
        }
      });
    }
  }
});

describe('shrinking and replay', () => {
  const unsafe = variants.filter((v) => v.expected === 'unsafe');
  let shrunkTotal = 0;
  let unshrunkTotal = 0;

  for (const variant of unsafe) {
    const name = `${variant.scenario}/${variant.variant}`;
    it(`${name}: the shrunk counterexample is no larger, 1-minimal, and replays from its id`, async () => {
      const profile: ProfileName = 'posix-weak';
      const result = await explore(variant, { profile });
      const shrunk = result.counterexample!;
      const { history, found } = await firstViolation(variant, profile);
      assert.equal(shrunk.point.opsDone, found.point.opsDone, 'shrinking keeps the earliest failing crash point');
      assert.ok(lostOrTorn(shrunk) <= lostOrTorn(found));
      unshrunkTotal += lostOrTorn(found);
      shrunkTotal += lostOrTorn(shrunk);

      // Shrinking is deterministic: shrinking the unshrunk violation gives the explorer's counterexample.
      const again = await shrink(variant, history, found, profile, 'volatile-cache');
      const replayBase = { scenario: variant.scenario, variant: variant.variant, profile, device: 'volatile-cache' as const, seed: defaultSeed };
      assert.equal(
        formatReplayId(replayTargetOf({ point: again.point, choice: again.choice, replay: replayBase })),
        formatReplayId(replayTargetOf({ point: shrunk.point, choice: shrunk.choice, replay: replayBase })),
      );

      // 1-minimal: putting back any lost effect, or making any torn one whole, no longer fails.
      const attempts: Choice[] = [
        ...shrunk.point.candidates.filter((e) => !shrunk.choice.has(e.id)).map((e) => withEffect(shrunk.point, shrunk.choice, e)),
        ...shrunk.point.candidates
          .filter((e) => shrunk.choice.get(e.id) === 'garbage')
          .map((e) => new Map(shrunk.choice).set(e.id, 'data' as const)),
      ];
      for (const choice of attempts) {
        const image = imageOf(result.history, shrunk.point, choice);
        assert.equal(await checkImage(variant, image, shrunk.point.acknowledged, profile, 'volatile-cache'), undefined);
      }

      // Replay through the id's text form.
      const target = replayTargetOf({ point: shrunk.point, choice: shrunk.choice, replay: replayBase });
      const id = formatReplayId(target);
      const parsed = parseReplayId(id);
      assert.deepEqual(parsed, target);
      const outcome = await replay(variant, parsed);
      assert.ok(outcome.violation !== undefined, `replay of ${id} did not fail`);
      assert.equal(outcome.violation.invariant, shrunk.violation.invariant);
      assert.equal(outcome.state.image.contentHash(), shrunk.image.contentHash());
      assert.equal(outcome.state.point.opsDone, shrunk.point.opsDone);
    });
  }

  it('shrinking removed lost or torn effects somewhere', () => {
    assert.ok(unshrunkTotal > 0, 'the tests above ran');
    assert.ok(shrunkTotal < unshrunkTotal, `shrunk ${shrunkTotal} vs unshrunk ${unshrunkTotal}`);
  });
});

describe('replay ids', () => {
  const variant = variants.find((v) => v.scenario === 'atomic-replace' && v.variant === 'rename-no-dir-fsync')!;
  const good = async () => {
    const result = await explore(variant, { profile: 'posix-weak' });
    const { point, choice } = result.counterexample!;
    return {
      point,
      target: replayTargetOf({
        point,
        choice,
        replay: { scenario: variant.scenario, variant: variant.variant, profile: 'posix-weak', device: 'volatile-cache', seed: 1 },
      }),
    };
  };

  it('round-trips through text', async () => {
    const { target } = await good();
    const id = formatReplayId(target);
    assert.match(id, /^atomic-replace:rename-no-dir-fsync:posix-weak:volatile-cache:seed=1:crash=\d+:lost=[\d.]*:torn=[\d.]*$/);
    assert.deepEqual(parseReplayId(`  ${id}\n`), target);
  });

  it('an effect that is not uncertain at the crash point is a mismatch', async () => {
    const { point, target } = await good();
    await assert.rejects(replay(variant, { ...target, lost: [9999] }), carveError(ErrorCodes.REPLAY_MISMATCH));
    await assert.rejects(replay(variant, { ...target, torn: [9999] }), carveError(ErrorCodes.REPLAY_MISMATCH));
    assert.ok(point.mediaIds.length > 0, 'the fsynced temp data is on media');
    await assert.rejects(replay(variant, { ...target, lost: [point.mediaIds[0]!] }), carveError(ErrorCodes.REPLAY_MISMATCH));
    const tampered = formatReplayId(target).replace(/lost=[\d.]*/, 'lost=9999');
    await assert.rejects(replay(variant, parseReplayId(tampered)), carveError(ErrorCodes.REPLAY_MISMATCH));
  });

  it('a crash point past the end of the workload is a mismatch', async () => {
    const { target } = await good();
    await assert.rejects(replay(variant, { ...target, opsDone: 999, lost: [], torn: [] }), carveError(ErrorCodes.REPLAY_MISMATCH));
  });

  it('malformed ids throw E_BAD_REPLAY_ID', () => {
    const base = ['s', 'v', 'posix-weak', 'volatile-cache', 'seed=1', 'crash=3', 'lost=1.2', 'torn='];
    assert.doesNotThrow(() => parseReplayId(base.join(':')));
    const bad = [
      '',
      'nonsense',
      base.slice(0, 7).join(':'),
      [...base, 'extra'].join(':'),
      base.map((f, i) => (i === 4 ? 'seed=x' : f)).join(':'),
      base.map((f, i) => (i === 4 ? 'seed=-1' : f)).join(':'),
      base.map((f, i) => (i === 4 ? '1' : f)).join(':'),
      base.map((f, i) => (i === 5 ? 'crash=' : f)).join(':'),
      base.map((f, i) => (i === 5 ? 'seed=3' : f)).join(':'),
      base.map((f, i) => (i === 6 ? 'lost=1..2' : f)).join(':'),
      base.map((f, i) => (i === 7 ? 'torn=a' : f)).join(':'),
      base.map((f, i) => (i === 3 ? 'floppy' : f)).join(':'),
    ];
    for (const id of bad) assert.throws(() => parseReplayId(id), carveError(ErrorCodes.BAD_REPLAY_ID), JSON.stringify(id));
  });

  it('an unknown profile throws E_UNKNOWN_PROFILE, in ids, in the explorer and in the simulator', async () => {
    assert.throws(() => parseReplayId('s:v:zfs:volatile-cache:seed=1:crash=1:lost=:torn='), carveError(ErrorCodes.UNKNOWN_PROFILE));
    await assert.rejects(explore(variant, { profile: 'zfs' as ProfileName }), carveError(ErrorCodes.UNKNOWN_PROFILE));
    assert.throws(() => new SimStorage({ profile: 'zfs' as ProfileName }), carveError(ErrorCodes.UNKNOWN_PROFILE));
  });
});
