/**
 * Helpers for the journal tests: build journals on SimStorage from a plan of writers and rounds
 * (appends of one round issued together, rounds one after another), and get at the raw bytes.
 */
import { analyzeJournalBytes, type JournalAnalysis } from '../../src/journal/analyze.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readWholeFile } from '../../src/storage/files.js';
import type { Storage } from '../../src/storage/storage.js';

export const journalPath = 'j.journal';

export interface WriterPlan {
  readonly name: string;
  /** Payload texts per round. */
  readonly rounds: readonly (readonly string[])[];
}

export interface Acked {
  readonly writer: string;
  readonly seq: number;
  readonly text: string;
}

/** Runs the plans: concurrently (`together`) or one writer after another. Returns every ack. */
export async function runWriters(
  storage: Storage,
  plans: readonly WriterPlan[],
  mode: 'together' | 'one-after-another' = 'together',
): Promise<Acked[]> {
  const acks: Acked[] = [];
  const run = async (plan: WriterPlan) => {
    const writer = await JournalWriter.open(storage, journalPath, { writerId: `${plan.name}-00000000` });
    for (const round of plan.rounds) {
      await Promise.all(
        round.map(async (text) => {
          const ack = await writer.append(Buffer.from(text));
          acks.push({ writer: ack.writer, seq: ack.seq, text });
        }),
      );
    }
    await writer.close();
  };
  if (mode === 'together') await Promise.all(plans.map(run));
  else for (const plan of plans) await run(plan);
  return acks;
}

export async function bytesOf(storage: Storage, path = journalPath): Promise<Buffer> {
  return Buffer.from(await readWholeFile(storage, path));
}

/** A journal built in memory; returns its bytes and acks. */
export async function buildJournal(
  plans: readonly WriterPlan[],
  mode: 'together' | 'one-after-another' = 'together',
): Promise<{ bytes: Buffer; acks: Acked[] }> {
  const storage = new SimStorage({ profile: 'ext4-ordered' });
  const acks = await runWriters(storage, plans, mode);
  return { bytes: await bytesOf(storage), acks };
}

export function analyze(bytes: Uint8Array): JournalAnalysis {
  return analyzeJournalBytes(bytes, journalPath);
}

/** The entries as "writer#seq=text" strings, in file order. */
export function entryKeys(analysis: JournalAnalysis): string[] {
  return analysis.entries.map((entry) => `${entry.writer}#${entry.seq}=${Buffer.from(entry.data).toString()}`);
}

/** Three writers, three rounds of two entries each: blocks interleave in the file. */
export const threeWriters: readonly WriterPlan[] = ['ann', 'ben', 'cy'].map((name) => ({
  name,
  rounds: [1, 2, 3].map((round) => [`${name} r${round} a`, `${name} r${round} b`]),
}));

export function splice(bytes: Buffer, start: number, end: number, insert: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([bytes.subarray(0, start), insert, bytes.subarray(end)]);
}
