/**
 * The notebook lab scenario under every persistence profile: the naive variant (acknowledged
 * without a sync) loses acknowledged entries under posix-weak; the correct variants lose
 * nothing and always verify, under every profile; every enumeration is complete at the
 * default bound. The counterexample of the naive variant names a lost acknowledged entry.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { explore } from '../../src/explore/explorer.js';
import { notebookFamily } from '../../src/lab/notebook.js';
import { labFamilies } from '../../src/lab/registry.js';
import { verdictOf } from '../../src/lab/verdict.js';
import { profileNames } from '../../src/sim/profiles.js';

describe('lab scenario notebook', () => {
  it('is registered with the lab', () => {
    assert.ok(labFamilies().some((family) => family.name === 'notebook'));
  });

  for (const variant of notebookFamily().variants) {
    it(`${variant.variant} (${variant.expected}) meets its expectation under every profile`, async () => {
      for (const profile of profileNames) {
        const result = await explore(variant, { profile });
        const where = `${variant.variant} on ${profile}`;
        assert.equal(result.complete, true, `${where}: every crash state enumerated`);
        assert.ok(result.states > 0, `${where}: explored`);
        assert.equal(verdictOf(result).failed, false, `${where}: ${verdictOf(result).text}, ${result.violations} violations`);
        if (variant.expected === 'safe') assert.equal(result.violations, 0, where);
        if (variant.expected === 'unsafe' && profile === 'posix-weak') {
          assert.ok(result.violations > 0, where);
          assert.equal(result.counterexample?.violation.invariant, 'acknowledged-present-once');
          assert.match(result.counterexample?.violation.detail ?? '', /was acknowledged but is not in the journal/);
        }
      }
    });
  }
});
