/**
 * Properties, checked with fast-check over generated writers, rounds, payloads and
 * interleavings: any interleaving of appends from N writers reads back each writer's entries
 * in order, once, with seqs 1..n, and the journal verifies; a journal cut at any offset reads
 * as a torn tail, never as corruption, and keeps exactly the blocks before the cut; any single
 * changed byte in sealed data is reported; and no damage ever makes an entry appear that was
 * not appended.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CarveError } from '../../src/errors.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { analyze, bytesOf, journalPath } from './helpers.js';

interface Plan {
  /** Per writer, per round: the payloads appended together, and microtask yields before the round. */
  writers: Array<Array<{ yields: number; payloads: Uint8Array[] }>>;
}

const planArbitrary: fc.Arbitrary<Plan> = fc.record({
  writers: fc.array(
    fc.array(
      fc.record({
        yields: fc.nat({ max: 8 }),
        payloads: fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    { minLength: 1, maxLength: 4 },
  ),
});

interface Built {
  bytes: Buffer;
  /** writer id -> payloads in append order. */
  appended: Map<string, Uint8Array[]>;
}

async function build(plan: Plan): Promise<Built> {
  const storage = new SimStorage({ profile: 'posix-weak' });
  const appended = new Map<string, Uint8Array[]>();
  await Promise.all(
    plan.writers.map(async (rounds, index) => {
      const writerId = `w${index}-00000000`;
      appended.set(writerId, []);
      const writer = await JournalWriter.open(storage, journalPath, { writerId });
      for (const round of rounds) {
        for (let i = 0; i < round.yields; i++) await Promise.resolve();
        appended.get(writerId)!.push(...round.payloads);
        const acks = await Promise.all(round.payloads.map((payload) => writer.append(payload)));
        assert.deepEqual(
          acks.map((ack) => ack.seq),
          acks.map((_, i) => appended.get(writerId)!.length - round.payloads.length + i + 1),
          'seqs follow the order of the appends',
        );
      }
      await writer.close();
    }),
  );
  return { bytes: await bytesOf(storage), appended };
}

/** Every entry read back is one a writer appended, at that seq. */
function assertNoPhantoms(entries: ReturnType<typeof analyze>['entries'], appended: Map<string, Uint8Array[]>): void {
  for (const entry of entries) {
    const expected = appended.get(entry.writer)?.[entry.seq - 1];
    assert.ok(expected !== undefined && Buffer.from(expected).equals(Buffer.from(entry.data)), `phantom entry ${entry.writer}#${entry.seq}`);
  }
}

const runs = { numRuns: 60 };

describe('journal properties', () => {
  it('any interleaving of appends from N writers reads back each writer in order, once, and verifies', async () => {
    await fc.assert(
      fc.asyncProperty(planArbitrary, async (plan) => {
        const { bytes, appended } = await build(plan);
        const analysis = analyze(bytes);
        assert.deepEqual(analysis.problems, []);
        assert.deepEqual(analysis.setAside, []);
        for (const [writer, payloads] of appended) {
          const mine = analysis.entries.filter((entry) => entry.writer === writer);
          assert.deepEqual(mine.map((entry) => entry.seq), payloads.map((_, i) => i + 1));
          assert.deepEqual(mine.map((entry) => Buffer.from(entry.data)), payloads.map((payload) => Buffer.from(payload)));
        }
        const offsets = analysis.entries.map((entry) => entry.offset);
        assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
      }),
      runs,
    );
  });

  it('a journal cut at any offset reads as a torn tail and keeps exactly the blocks before the cut', async () => {
    await fc.assert(
      fc.asyncProperty(planArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), async (plan, where) => {
        const { bytes, appended } = await build(plan);
        const whole = analyze(bytes);
        const cut = 16 + Math.floor(where * (bytes.length - 16));
        const analysis = analyze(bytes.subarray(0, cut));
        assert.deepEqual(analysis.problems, []);
        const kept = whole.entries.filter((entry) => whole.blocks[entry.block - 1]!.endOffset <= cut);
        assert.deepEqual(
          analysis.entries.map((entry) => `${entry.writer}#${entry.seq}`),
          kept.map((entry) => `${entry.writer}#${entry.seq}`),
        );
        assertNoPhantoms(analysis.entries, appended);
        if (cut > 16 && cut < bytes.length && !whole.blocks.some((block) => block.endOffset === cut)) {
          assert.equal(analysis.setAside.at(-1)?.atEnd, true);
        }
      }),
      runs,
    );
  });

  it('any single changed byte below a sealed frontier is reported as corruption', async () => {
    await fc.assert(
      fc.asyncProperty(planArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 255 }), async (plan, where, flip) => {
        const { bytes, appended } = await build(plan);
        const sealedBytes = Math.max(...analyze(bytes).blocks.map((block) => block.seal.frontierBytes));
        fc.pre(sealedBytes > 16);
        const at = Math.min(sealedBytes - 1, 16 + Math.floor(where * (sealedBytes - 16)));
        const changed = Buffer.from(bytes);
        changed[at] = changed[at]! ^ flip;
        const analysis = analyze(changed);
        assert.ok(analysis.problems.length > 0, `byte ${at} changed below the frontier ${sealedBytes}`);
        assert.ok(analysis.problems[0]!.offset <= at, 'the first problem is at or before the change');
        assertNoPhantoms(analysis.entries, appended);
      }),
      runs,
    );
  });

  it('no damage makes an entry appear that was not appended', async () => {
    await fc.assert(
      fc.asyncProperty(
        planArbitrary,
        fc.array(fc.record({ where: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.integer({ min: 0, max: 255 }), length: fc.nat({ max: 40 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        async (plan, damages) => {
          const { bytes, appended } = await build(plan);
          const damaged = Buffer.from(bytes);
          for (const { where, value, length } of damages) {
            const at = 16 + Math.floor(where * (damaged.length - 16));
            damaged.fill(value, at, Math.min(damaged.length, at + length + 1));
          }
          let analysis;
          try {
            analysis = analyze(damaged);
          } catch (error) {
            assert.ok(error instanceof CarveError, `only typed errors: ${String(error)}`);
            return;
          }
          assertNoPhantoms(analysis.entries, appended);
        },
      ),
      runs,
    );
  });
});
