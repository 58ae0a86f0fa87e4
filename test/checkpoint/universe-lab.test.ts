/**
 * The lab's universe scenario under every persistence profile: every crash state is enumerated
 * (complete); the correct variant (Checkpointer: copy-on-write, temp, fsync, rename, directory
 * fsync) never breaks an invariant; each unsafe variant (no-fsync, in-place) loses the
 * checkpoint under posix-weak. No variant ever breaks snapshot consistency: the naive variants
 * fail on publishing, not on copy-on-write.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ExplorationResult, explore } from '../../src/explore/explorer.js';
import { universeFamily } from '../../src/lab/universe.js';
import { verdictOf } from '../../src/lab/verdict.js';
import { checkImage } from '../../src/explore/explorer.js';
import { profileNames } from '../../src/sim/profiles.js';

describe('lab scenario universe', () => {
  const family = universeFamily();

  it('has the three variants with their expectations', () => {
    assert.deepEqual(
      family.variants.map((v) => [v.variant, v.expected]),
      [
        ['no-fsync', 'unsafe'],
        ['in-place', 'unsafe'],
        ['correct', 'safe'],
      ],
    );
  });

  for (const variant of family.variants) {
    it(`${variant.variant} (${variant.expected}) meets its expectation under every profile`, async (t) => {
      const results: ExplorationResult[] = [];
      for (const profile of profileNames) {
        const result = await explore(variant, { profile });
        results.push(result);
        t.diagnostic(`${profile}: ${result.crashPoints} crash points, ${result.states} states, ${result.violations} violations`);
        assert.equal(result.complete, true, `${profile}: every crash state enumerated`);
        assert.ok(result.states > 1, `${profile}: more than one crash state`);
        assert.equal(verdictOf(result).failed, false, `${profile}: verdict ${verdictOf(result).text}`);
        if (variant.expected === 'safe') assert.equal(result.violations, 0, `${profile}: no violation`);
        assert.notEqual(result.counterexample?.violation.invariant, 'snapshot-is-consistent', `${profile}: copy-on-write holds`);
      }
      const weak = results.find((result) => result.profile === 'posix-weak')!;
      if (variant.expected === 'unsafe') {
        assert.ok(weak.violations > 0, 'caught under posix-weak');
        assert.equal(weak.counterexample?.violation.invariant, 'old-or-new');
      }
    });
  }

  it('acknowledges both checkpoints, and the check accepts the checkpoint the setup wrote', async () => {
    const correct = family.variants.find((v) => v.variant === 'correct')!;
    const result = await explore(correct, { profile: 'ext4-journal' });
    const { history } = result;
    assert.ok(history.acks.map((ack) => ack.label).includes('checkpoint 3'), 'both checkpoints were acknowledged');
    assert.equal(await checkImage(correct, history.base, [], 'ext4-journal', 'volatile-cache'), undefined, 'the setup checkpoint loads');
  });
});
