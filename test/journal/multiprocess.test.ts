/**
 * The journal with real processes on the real disk. Each round starts five OS processes
 * (multiprocess-child.ts) that open one shared journal at the same moment (the first round
 * also creates it, concurrently) and append with several appends in flight each; three of
 * them are SIGKILLed mid-stream at randomised moments, two finish and exit. After every round:
 * every acknowledged entry (acks are printed after the append resolved) is present exactly
 * once with its bytes, each writer's entries have seqs 1..n with no gap, at most the appends
 * that were in flight at the kill are present without an ack, and the journal verifies. The
 * rounds append to the same journal, so later writers append after killed ones.
 *
 * Scope: SIGKILL kills processes, not the machine: the page cache survives, so this checks the
 * multi-process protocol (O_APPEND blocks, concurrent creation, resynchronisation, chains and
 * frontiers across processes), while power cuts are the simulator lab's business.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeJournal } from '../../src/journal/reader.js';
import { NodeStorage } from '../../src/storage/node.js';
import { spawnTsxChild, type TsxChild } from '../support/child-process.js';
import { seededRandom } from '../support/seeded-random.js';
import { payloadFor, sharedJournal } from './multiprocess-child.js';

const childScript = fileURLToPath(new URL('./multiprocess-child.ts', import.meta.url));
const rounds = 3;
const killedPerRound = 3;
const finishingPerRound = 2;
const finishingCount = 40;
const lanes = 4;
const seed = Number(process.env.CARVE_JOURNAL_SEED ?? 0x10a7_5eed);

interface Child {
  readonly name: string;
  readonly process: TsxChild;
  writerId: string | undefined;
  readonly acks: number[];
  readonly badLines: string[];
}

function start(dir: string, name: string, count: number | 'forever'): Child {
  const child: Child = {
    name,
    process: spawnTsxChild(childScript, [dir, name, String(count), String(lanes)], {
      onLine: (line) => {
        const ack = /^ack (\d+)$/.exec(line);
        const id = /^writer (\S+)$/.exec(line);
        if (ack !== null) child.acks.push(Number(ack[1]));
        else if (id !== null && child.writerId === undefined) child.writerId = id[1];
        else child.badLines.push(line);
      },
    }),
    writerId: undefined,
    acks: [],
    badLines: [],
  };
  return child;
}

describe('journal with real processes under SIGKILL', () => {
  it(`keeps every acknowledged entry exactly once across ${rounds} rounds of 5 processes`, { timeout: 120_000 }, async (t) => {
    const random = seededRandom(seed);
    const dir = await mkdtemp(join(tmpdir(), 'carve-journal-'));
    const all: Child[] = [];
    let inFlightAtKill = 0;
    let setAsideRegions = 0;
    try {
      for (let round = 1; round <= rounds; round++) {
        const where = `round ${round} (seed ${seed})`;
        const killed = Array.from({ length: killedPerRound }, (_, i) => start(dir, `k${round}${i}`, 'forever'));
        const finishing = Array.from({ length: finishingPerRound }, (_, i) => start(dir, `f${round}${i}`, finishingCount));
        await Promise.all(
          killed.map(async (child) => {
            const count = 5 + Math.floor(random() * 40);
            await child.process.until(() => child.acks.length >= count);
            await new Promise((resolve) => setTimeout(resolve, random() * 15));
            child.process.kill();
          }),
        );
        for (const child of killed) {
          const { signal } = await child.process.closed;
          assert.equal(signal, 'SIGKILL', `${where}: ${child.name} died of the kill, not on its own: ${child.process.stderr}`);
        }
        for (const child of finishing) {
          const { code } = await child.process.closed;
          assert.equal(code, 0, `${where}: ${child.name} finished: ${child.process.stderr}`);
          assert.equal(child.acks.length, finishingCount, `${where}: ${child.name} acknowledged every append`);
        }
        all.push(...killed, ...finishing);

        const analysis = await analyzeJournal(await NodeStorage.open(dir), sharedJournal);
        assert.deepEqual(analysis.problems, [], `${where}: the journal verifies`);
        setAsideRegions = analysis.setAside.length;
        for (const child of all) {
          assert.deepEqual(child.badLines, [], `${child.name} prints only its id and acks`);
          assert.ok(child.writerId !== undefined, `${child.name} opened the journal`);
          const entries = analysis.entries.filter((entry) => entry.writer === child.writerId);
          const seqs = entries.map((entry) => entry.seq);
          assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${where}: ${child.writerId} has seqs 1..n, each once`);
          for (const entry of entries) {
            assert.ok(Buffer.from(entry.data).equals(payloadFor(child.writerId, entry.seq)), `${where}: ${child.writerId}#${entry.seq} holds its bytes`);
          }
          const acked = new Set(child.acks);
          for (const seq of acked) assert.ok(seq <= seqs.length, `${where}: acknowledged ${child.writerId}#${seq} is present`);
          const unacked = seqs.filter((seq) => !acked.has(seq)).length;
          assert.ok(unacked <= lanes, `${where}: ${child.writerId}: ${unacked} entries present without an ack, at most the ${lanes} in flight`);
          if (round === rounds) inFlightAtKill += unacked;
        }
      }
      const acks = all.reduce((sum, child) => sum + child.acks.length, 0);
      t.diagnostic(
        `seed ${seed}: ${all.length} processes, ${acks} acknowledged entries all present once; ` +
          `${inFlightAtKill} written-but-unacknowledged entries (killed during their sync) present; ${setAsideRegions} torn regions set aside`,
      );
    } finally {
      for (const child of all) child.process.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
