/**
 * Scenario notebook: the essay's shared lab notebook. Three scientists append findings to one
 * journal at the same time; in the simulator they are three concurrent tasks, each with its own
 * JournalWriter and O_APPEND handle (the model of three processes). The writers create the
 * journal themselves, concurrently; or (correct-after-crash) it starts as an earlier power cut
 * left it, a whole block then a torn one, so acknowledged entries follow a torn record.
 *
 * Invariants after any crash: every acknowledged entry is present exactly once, whole (its
 * writer, seq and bytes); nothing is read back as an entry that no writer appended (torn or
 * zero-filled bytes are set aside, never taken for data); the journal verifies (a torn write
 * of a crash is never reported as corruption). Variants: no-sync (acknowledged once written,
 * without a sync), correct and correct-after-crash (JournalWriter: one fdatasync seals each
 * block before the ack).
 */
import { ErrorCodes, isCarveError } from '../errors.js';
import { type ScenarioVariant, expectInvariant } from '../explore/scenario.js';
import { buildBlock } from '../journal/block.js';
import { headerBytes } from '../journal/header.js';
import { analyzeJournal } from '../journal/reader.js';
import { zeroHash } from '../journal/records.js';
import { type JournalSync, JournalWriter } from '../journal/writer.js';
import { bytes, bytesEqual } from '../storage/files.js';
import type { ScenarioFamily } from './family.js';

const journalPath = 'notebook.journal';
/**
 * Who appends what, in rounds: the appends of one round are issued together (they share a
 * block and its sync), the next round waits for them. Four blocks in all, so even the naive
 * variant's crash states (nothing ever synced) can be enumerated completely.
 */
const plans = [
  { name: 'alice', rounds: [[1, 2], [3]] },
  { name: 'bob', rounds: [[1, 2]] },
  { name: 'carol', rounds: [[1]] },
] as const;
/** An earlier session's writer: one block made it to disk whole, the next was torn by a crash. */
const earlierWriter = 'dave-00000000';
const earlierDurableSeqs = [1];
const scientists: readonly string[] = [...plans.map((plan) => plan.name), 'dave'];

/** What `name` writes as its entry number `seq`. */
function finding(name: string, seq: number): Uint8Array {
  return bytes(`${name}, observation ${seq}: sample ${(seq * 37) % 101} behaves as predicted`);
}

function ackLabel(writer: string, seq: number): string {
  return `appended ${writer} #${seq}`;
}

function parseAck(label: string): { writer: string; seq: number } | undefined {
  const match = /^appended (\S+) #(\d+)$/.exec(label);
  return match === null ? undefined : { writer: match[1]!, seq: Number(match[2]) };
}

/** The scientist's name in a writer id `name-<suffix>`. */
function nameOf(writer: string): string {
  return writer.slice(0, writer.lastIndexOf('-'));
}

type Start = 'fresh' | 'after-crash';

const variants: ReadonlyArray<{ variant: string; expected: 'safe' | 'unsafe'; summary: string; sync: JournalSync; start: Start }> = [
  {
    variant: 'no-sync',
    expected: 'unsafe',
    summary: 'acknowledge each append once its block is written with O_APPEND, without a sync',
    sync: 'none',
    start: 'fresh',
  },
  {
    variant: 'correct',
    expected: 'safe',
    summary: 'JournalWriter: the writers create the journal; group commit, one O_APPEND write and one fdatasync per block',
    sync: 'datasync',
    start: 'fresh',
  },
  {
    variant: 'correct-after-crash',
    expected: 'safe',
    summary: 'JournalWriter on a journal an earlier crash left with a torn block: new entries follow a torn record',
    sync: 'datasync',
    start: 'after-crash',
  },
];

export function notebookFamily(): ScenarioFamily {
  return {
    name: 'notebook',
    summary: 'three writers append to one shared journal; every acknowledged entry survives exactly once and the chain verifies',
    variants: variants.map(({ variant, expected, summary, sync, start }): ScenarioVariant => ({
      scenario: 'notebook',
      variant,
      expected,
      summary,
      async setup(storage) {
        if (start === 'fresh') return; // The writers create the journal themselves, concurrently.
        // The notebook as an earlier power cut left it: a whole block of dave's, then his next
        // block torn (its first entry whole, the rest zeros), so this run's writers append after
        // a torn record, and their acknowledged entries follow it.
        const dave = await JournalWriter.open(storage, journalPath, { writerId: earlierWriter });
        for (const seq of earlierDurableSeqs) await dave.append(finding('dave', seq));
        await dave.close();
        const torn = buildBlock({
          writer: earlierWriter,
          blockSeq: 2,
          firstSeq: 2,
          prevChain: zeroHash,
          prevBlockOffset: headerBytes,
          frontierBytes: headerBytes,
          frontierDigest: zeroHash,
          payloads: [finding('dave', 2), finding('dave', 3)],
        });
        const keptBytes = torn.entryOffsets[1]! + 20;
        const handle = await storage.open(journalPath, 'a');
        await handle.append(Buffer.concat([torn.bytes.subarray(0, keptBytes), Buffer.alloc(torn.bytes.length - keptBytes)]));
        await handle.close();
      },
      async workload(storage, context) {
        await Promise.all(
          plans.map(async ({ name, rounds }) => {
            const writer = await JournalWriter.open(storage, journalPath, { name, randomSuffix: context.randomSuffix, sync });
            for (const round of rounds) {
              await Promise.all(
                round.map(async (seq) => {
                  const ack = await writer.append(finding(name, seq));
                  context.acknowledge(ackLabel(ack.writer, ack.seq));
                }),
              );
            }
            await writer.close();
          }),
        );
      },
      async check(storage, crash) {
        const acknowledged = crash.acknowledged.map((label) => parseAck(label)).filter((ack) => ack !== undefined);
        let analysis;
        try {
          analysis = await analyzeJournal(storage, journalPath);
        } catch (error) {
          if (!isCarveError(error, ErrorCodes.ENOENT)) throw error;
          expectInvariant(acknowledged.length === 0, 'acknowledged-present-once', () =>
            `${acknowledged.length} entries were acknowledged, but the journal file is missing`,
          );
          return;
        }
        const problem = analysis.problems[0];
        expectInvariant(problem === undefined, 'journal-verifies', () =>
          `${problem!.kind} at offset ${problem!.offset}: ${problem!.detail}`,
        );
        const seen = new Set<string>();
        for (const entry of analysis.entries) {
          const key = `${entry.writer} #${entry.seq}`;
          expectInvariant(!seen.has(key), 'acknowledged-present-once', () => `entry ${key} is read back twice`);
          seen.add(key);
          expectInvariant(
            scientists.some((name) => name === nameOf(entry.writer)) && bytesEqual(entry.data, finding(nameOf(entry.writer), entry.seq)),
            'no-phantom-entries',
            () => `entry ${key} at offset ${entry.offset} holds bytes no writer appended as it`,
          );
        }
        for (const seq of start === 'after-crash' ? earlierDurableSeqs : []) {
          expectInvariant(seen.has(`${earlierWriter} #${seq}`), 'acknowledged-present-once', () =>
            `entry ${earlierWriter} #${seq}, durable before this run, is not in the journal`,
          );
        }
        for (const ack of acknowledged) {
          expectInvariant(seen.has(`${ack.writer} #${ack.seq}`), 'acknowledged-present-once', () =>
            `entry ${ack.writer} #${ack.seq} was acknowledged but is not in the journal (${analysis.entries.length} entries, ${analysis.setAside.length} torn regions set aside)`,
          );
        }
      },
    })),
  };
}
