/**
 * KvStore under SIGKILL on the real disk. A child process (kv-writer-child.ts) opens the store
 * in a temp directory and runs concurrent writers, each writing a stream of batches and
 * printing "acked <run> <w> <j>" as each resolves, with frequent checkpoints (64 KiB threshold
 * plus an explicit one every 25 batches of writer 0). The parent kills it with SIGKILL at a
 * seeded moment (after a seeded number of acks; 0 means as soon as it has opened), many times in
 * a row on the same directory, and after every kill opens the store itself, which the dead
 * child's lock (dropped by the operating system) must not block, and checks:
 *  - every acknowledged batch is present, with exactly the bytes written;
 *  - nothing is half-applied: each batch's key and marker are both present or both absent, the
 *    writer's `last` pointer names its newest batch present, and exactly one `tmp` key (the
 *    newest batch's) exists, so a batch's delete and puts landed together;
 *  - each writer's batches present form a prefix of what it wrote (no holes: a batch was only
 *    written after the previous one was durable), and no key outside the batches exists;
 *  - what earlier runs left is unchanged by later runs, recoveries and checkpoints.
 *
 * Two configurations: 4 writers killed 20 times, and 160 writers killed 6 times, whose groups
 * (about 80 commits each, measured) are told in slices (group-commit.ts, ackSliceCommits), so
 * writers are killed while some slices of a durable group are still untold.
 *
 * Scope: SIGKILL kills the process only; the page cache survives, so this says nothing about
 * power loss (the simulator lab covers that). Seed: CARVE_KV_SIGKILL_SEED.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type TestContext, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';
import { join } from 'node:path';
import { spawnTsxChild } from '../support/child-process.js';
import { hex, latin1, seededRandom, withTempDir } from './kv-helpers.js';
import { batchKey, batchMarker, lastKey, storeDirectory, tmpKey, valueFor } from './kv-writer-child.js';

const childScript = fileURLToPath(new URL('./kv-writer-child.ts', import.meta.url));

const seed = Number(process.env.CARVE_KV_SIGKILL_SEED ?? 0x6b7_5eed);

interface Run {
  pid: number;
  acks: Array<{ w: number; j: number }>;
  signal: NodeJS.Signals | null;
  stderr: string;
  badLines: string[];
}

/** Spawns the child for `run` and SIGKILLs it once it has printed `killAfterAcks` acks (0: once it has opened). */
async function runAndKill(dir: string, run: number, writers: number, killAfterAcks: number): Promise<Run> {
  const result: Run = { pid: -1, acks: [], signal: null, stderr: '', badLines: [] };
  const child = spawnTsxChild(childScript, [dir, String(run), String(writers)], {
    onLine: (line) => {
      const opened = /^opened (\d+)$/.exec(line);
      const acked = /^acked (\d+) (\d+) (\d+)$/.exec(line);
      if (opened !== null) result.pid = Number(opened[1]);
      else if (acked !== null && Number(acked[1]) === run) result.acks.push({ w: Number(acked[2]), j: Number(acked[3]) });
      else result.badLines.push(line);
    },
  });
  if (await child.until(() => result.pid > 0 && result.acks.length >= killAfterAcks)) child.kill();
  result.signal = (await child.closed).signal; // stdout has been read to its end: every ack the child printed is counted
  result.stderr = child.stderr;
  if (child.partialLine !== '') result.badLines.push(`(partial line) ${child.partialLine}`);
  return result;
}


/** Checks the whole store; returns, per "run/w", the newest batch present (-1: none). */
function verify(db: KvStore, runs: number, writers: number, where: string): Map<string, number> {
  const keys = new Map<string, Uint8Array>();
  const tmpsOf = new Map<string, string[]>();
  for (const [key, value] of db.entries()) {
    const name = latin1(key);
    keys.set(name, value);
    const tmp = /^tmp\/(\d+\/\d+)\//.exec(name);
    if (tmp !== null) tmpsOf.set(tmp[1]!, [...(tmpsOf.get(tmp[1]!) ?? []), name]);
  }
  const newest = new Map<string, number>();
  let accounted = 0;
  for (let run = 1; run <= runs; run++) {
    for (let w = 0; w < writers; w++) {
      let j = 0;
      for (; ; j++) {
        const key = keys.get(batchKey(run, w, j));
        const marker = keys.get(batchMarker(run, w, j));
        assert.equal(key === undefined, marker === undefined, `${where}: batch ${run}/${w}/${j} half-applied (key ${key !== undefined}, marker ${marker !== undefined})`);
        if (key === undefined) break;
        assert.equal(hex(key), hex(valueFor(run, w, j)), `${where}: value of batch ${run}/${w}/${j}`);
        assert.equal(latin1(marker!), `m/${run}/${w}/${j}`, `${where}: marker of batch ${run}/${w}/${j}`);
        accounted += 2;
      }
      const top = j - 1;
      for (let later = j + 1; later < j + 50; later++) {
        assert.equal(keys.has(batchKey(run, w, later)), false, `${where}: batch ${run}/${w}/${later} present but ${run}/${w}/${j} missing (a hole)`);
      }
      const last = keys.get(lastKey(run, w));
      assert.equal(last === undefined ? -1 : Number(latin1(last)), top, `${where}: last pointer of writer ${run}/${w}`);
      if (last !== undefined) accounted += 1;
      const tmps = tmpsOf.get(`${run}/${w}`) ?? [];
      assert.deepEqual(tmps, top < 0 ? [] : [tmpKey(run, w, top)], `${where}: tmp keys of writer ${run}/${w}`);
      accounted += tmps.length;
      newest.set(`${run}/${w}`, top);
    }
  }
  assert.equal(keys.size, accounted, `${where}: no keys other than the batches' (${keys.size} vs ${accounted})`);
  return newest;
}

/** Runs and kills the child `kills` times on one directory, checking the store after each kill. */
async function killRepeatedly(t: TestContext, writers: number, kills: number): Promise<void> {
  const random = seededRandom(seed);
  await withTempDir('carve-kv-sigkill-', async (dir) => {
    const storage = await NodeStorage.open(dir);
    const settled = new Map<string, number>();
    let totalAcks = 0;
    let totalBatches = 0;
    let checkpointsSeen = 0;
    let childMs = 0;
    for (let run = 1; run <= kills; run++) {
      const killAfterAcks = random() < 0.15 ? 0 : 1 + Math.floor(random() * 40 * writers);
      const where = `kill ${run} (after ${killAfterAcks} acks, seed ${seed})`;
      const started = performance.now();
      const result = await runAndKill(dir, run, writers, killAfterAcks);
      childMs += performance.now() - started;
      assert.equal(result.signal, 'SIGKILL', `${where}: the child died of the kill, not on its own: ${result.stderr}`);
      assert.deepEqual(result.badLines, [], `${where}: the child prints only open and ack lines`);
      assert.ok(result.pid > 0, `${where}: the child opened the store`);
      totalAcks += result.acks.length;

      const lock = await readFile(join(dir, storeDirectory, 'LOCK'), 'utf8');
      assert.equal(lock, `${result.pid}\n`, `${where}: the dead child's LOCK is still there`);
      const names = await storage.readdir(storeDirectory);
      if (names.includes('data.ckpt')) checkpointsSeen += 1;

      const db = await KvStore.open(storage, storeDirectory); // the dead child's lock died with it
      try {
        assert.equal(await readFile(join(dir, storeDirectory, 'LOCK'), 'utf8'), `${process.pid}\n`, `${where}: the lock is this process's`);
        const newest = verify(db, run, writers, where);
        for (const { w, j } of result.acks) {
          assert.ok(j <= newest.get(`${run}/${w}`)!, `${where}: acknowledged batch ${run}/${w}/${j} is missing`);
        }
        for (const [writer, top] of settled) {
          assert.equal(newest.get(writer), top, `${where}: writer ${writer} of an earlier run changed (${top} → ${newest.get(writer)})`);
        }
        for (let w = 0; w < writers; w++) {
          const top = newest.get(`${run}/${w}`)!;
          settled.set(`${run}/${w}`, top);
          totalBatches += top + 1;
        }
      } finally {
        await db.close();
      }
    }
    assert.ok(totalAcks > kills * 20, `the children made progress (${totalAcks} acks)`);
    assert.ok(checkpointsSeen > 0, 'checkpoints happened');
    t.diagnostic(`seed ${seed}: ${writers} writers, ${kills} kills, ${totalAcks} acks, ${totalBatches} batches present, data file present after ${checkpointsSeen} kills; ${Math.round(childMs)} ms in children`);
  });
}

describe('KvStore under SIGKILL (real disk, process death only)', () => {
  it('4 writers: keeps every acknowledged batch and never half-applies one, across 20 kills', { timeout: 120_000 }, (t) => killRepeatedly(t, 4, 20));
  it('160 writers (groups told in slices): the same, across 6 kills', { timeout: 120_000 }, (t) => killRepeatedly(t, 160, 6));
});
