/**
 * The lab's verdicts (src/lab/verdict.ts) and rows (src/lab/run-lab.ts), on small synthetic
 * scenarios: a safe variant with violations is a failed run, an unsafe one not caught under
 * posix-weak is a failed run, and so is any run whose workload threw, whatever its violations
 * (its crash states stop at the throw); the JSON row carries the workload's error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ScenarioVariant, expectInvariant } from '../../src/explore/scenario.js';
import { rowToJson, runLab } from '../../src/lab/run-lab.js';
import { type VerdictKind, verdictOf } from '../../src/lab/verdict.js';
import { text } from '../../src/storage/files.js';

/** Writes `value` to file `v`, synced when `synced`, then acknowledges it; throws after that if `throws`. */
function variant(name: string, expected: 'safe' | 'unsafe', options: { synced: boolean; throws?: boolean }): ScenarioVariant {
  return {
    scenario: 'toy',
    variant: name,
    expected,
    summary: name,
    async setup() {},
    async workload(storage, context) {
      const handle = await storage.open('v', 'w');
      await handle.write(new TextEncoder().encode('saved'), 0);
      if (options.synced) await handle.sync();
      await handle.close();
      if (options.synced) await storage.syncDir('');
      context.acknowledge('saved');
      if (options.throws === true) throw new Error('the workload broke');
    },
    async check(storage, crash) {
      if (!crash.acknowledged.includes('saved')) return;
      const handle = await storage.open('v', 'r').catch(() => undefined);
      const saved = handle === undefined ? '' : text(await handle.read(5, 0));
      await handle?.close();
      expectInvariant(saved === 'saved', 'acknowledged-write-kept', () => `file holds '${saved}'`);
    },
  };
}

const family = {
  name: 'toy',
  summary: 'one acknowledged write',
  variants: [
    variant('naive', 'unsafe', { synced: false }),
    variant('correct', 'safe', { synced: true }),
    variant('correct-then-throws', 'safe', { synced: true, throws: true }),
    variant('naive-called-safe', 'safe', { synced: false }),
    variant('correct-called-unsafe', 'unsafe', { synced: true }),
  ],
};

describe('lab verdicts', () => {
  it('judges each run against its expectation, and fails any whose workload threw', async () => {
    const rows = await runLab({ families: [family], profiles: ['posix-weak'], device: 'volatile-cache', boundPerPoint: 64, seed: 1 });
    const verdicts = Object.fromEntries(rows.map((row) => [row.result.variant, [row.verdict.kind, row.verdict.failed]]));
    assert.deepEqual(verdicts, {
      naive: ['loses-data', false],
      correct: ['holds', false],
      'correct-then-throws': ['workload-failed', true],
      'naive-called-safe': ['unexpected-loss', true],
      'correct-called-unsafe': ['not-caught', true],
    } satisfies Record<string, [VerdictKind, boolean]>);
    const thrown = rows.find((row) => row.result.variant === 'correct-then-throws')!;
    assert.equal(thrown.result.violations, 0, 'its crash states hold; the run fails all the same');
    assert.equal(rowToJson(thrown).workloadError, 'the workload broke');
    assert.equal(rowToJson(rows[0]!).workloadError, null);
  });

  it('an unsafe variant that survives a profile other than posix-weak is not a failure there', () => {
    const verdict = verdictOf({ expected: 'unsafe', violations: 0, profile: 'ext4-journal', complete: true, workloadError: undefined });
    assert.deepEqual([verdict.kind, verdict.failed], ['survives-here', false]);
  });
});
