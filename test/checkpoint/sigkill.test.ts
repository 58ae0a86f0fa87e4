/**
 * The checkpointer under SIGKILL on the real disk. A child process (checkpoint-child.ts) loops:
 * set its 8 MiB state to version n, checkpoint it with the worker writer while scribbling over
 * random pages, print "acked n" once durable. The parent kills it with SIGKILL at randomised
 * moments, many times in a row on the same directory, and after every kill checks that the
 * checkpoint file loads (all checksums, the commit marker) and is exactly version n for one n:
 * the last acknowledged one or the one after it, never older, never a mix, never a scribble.
 * At most one temp file is left (named for the checkpoint); the next child sweeps it.
 *
 * Scope: SIGKILL exercises process death only. The kernel's page cache survives it, so this test
 * says nothing about fsync ordering under power loss; the lab's universe scenario covers that.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { tempMarker } from '../../src/durable/temp-names.js';
import { NodeStorage } from '../../src/storage/node.js';
import { spawnTsxChild } from '../support/child-process.js';
import { seededRandom } from '../support/seeded-random.js';
import { checkpointName, pageCount, versionPage } from './checkpoint-child.js';

const childScript = fileURLToPath(new URL('./checkpoint-child.ts', import.meta.url));
const kills = 12;
const seed = Number(process.env.CARVE_SIGKILL_SEED ?? 0xc0ffee);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface KillRun {
  ackedAtKill: number;
  ackedTotal: number;
  signal: NodeJS.Signals | null;
  stderr: string;
}

async function runAndKill(dir: string, random: () => number): Promise<KillRun> {
  const acks: number[] = [];
  const ackTimes: number[] = [];
  const badLines: string[] = [];
  const child = spawnTsxChild(childScript, [dir], {
    onLine: (line) => {
      const match = /^acked (\d+)$/.exec(line);
      if (match === null) badLines.push(line);
      else acks.push(Number(match[1]));
      ackTimes.push(performance.now());
    },
  });
  try {
    const wanted = 1 + Math.floor(random() * 3);
    if (!(await child.until(() => acks.length >= wanted))) {
      await child.closed;
      assert.fail(`the child exited before the kill: ${child.stderr}`);
    }
    const first = ackTimes[0] ?? 0;
    const last = ackTimes[ackTimes.length - 1] ?? 0;
    const periodMs = acks.length > 1 ? (last - first) / (acks.length - 1) : 30;
    await sleep(random() * periodMs * 1.2);
    const ackedAtKill = Math.max(0, ...acks);
    const { signal } = await child.killAndWait();
    assert.deepEqual(badLines, [], 'the child prints nothing but ack lines');
    for (let i = 1; i < acks.length; i++) assert.equal(acks[i], acks[i - 1]! + 1, 'acks are consecutive');
    return { ackedAtKill, ackedTotal: Math.max(0, ...acks), signal, stderr: child.stderr };
  } finally {
    child.kill();
  }
}

describe('checkpointer under SIGKILL (real disk, process death only)', () => {
  it(`leaves one whole checkpoint, never older than acknowledged, across ${kills} kills`, { timeout: 120_000 }, async (t) => {
    const random = seededRandom(seed);
    const dir = await mkdtemp(join(tmpdir(), 'carve-checkpoint-sigkill-'));
    const outcomes = { atAcked: 0, newerThanAcked: 0, tempsLeft: 0 };
    let previous = 0;
    try {
      for (let kill = 1; kill <= kills; kill++) {
        const where = `kill ${kill} (seed ${seed})`;
        const run = await runAndKill(dir, random);
        assert.equal(run.signal, 'SIGKILL', `${where}: the child died of the kill: ${run.stderr}`);
        const names = await readdir(dir);
        const temps = names.filter((name) => name.startsWith(tempMarker));
        assert.deepEqual(names.filter((name) => !temps.includes(name)), [checkpointName], `${where}: only the checkpoint and temps`);
        assert.ok(temps.length <= 1, `${where}: at most one temp (the child sweeps earlier ones), got ${temps.join(', ')}`);
        for (const name of temps) assert.ok(name.startsWith(`${tempMarker}${checkpointName}.`), `${where}: temp ${name} is named for the checkpoint`);
        outcomes.tempsLeft += temps.length;

        const loaded = await loadCheckpoint(await NodeStorage.open(dir), checkpointName);
        const version = loaded.sequence;
        assert.ok(version >= run.ackedAtKill, `${where}: checkpoint ${version} is older than the acknowledged ${run.ackedAtKill}`);
        assert.ok(version === run.ackedTotal || version === run.ackedTotal + 1, `${where}: checkpoint ${version}, acked up to ${run.ackedTotal}`);
        assert.ok(version > previous, `${where}: progress was made (${previous} before)`);
        for (let page = 0; page < pageCount; page++) {
          assert.ok(
            Buffer.from(loaded.state.page(page)).equals(versionPage(version, page)),
            `${where}: page ${page} of checkpoint ${version} is exactly version ${version} (no scribble, no mix)`,
          );
        }
        if (version === run.ackedTotal) outcomes.atAcked += 1;
        else outcomes.newerThanAcked += 1;
        previous = version;
      }
      t.diagnostic(
        `seed ${seed}: ${kills} kills; at the acknowledged checkpoint: ${outcomes.atAcked}; renamed but not yet acknowledged: ${outcomes.newerThanAcked}; ` +
          `temps left by a kill: ${outcomes.tempsLeft}; checkpoints written: ${previous}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
