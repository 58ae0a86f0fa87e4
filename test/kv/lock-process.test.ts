/**
 * The store's lock across processes, on the real disk. A child process (kv-lock-child.ts) opens
 * the store, prints "ready", and holds it open. While it lives, the parent's KvStore.open of the
 * same directory is E_DB_LOCKED and changes nothing in the directory (the child's LOCK stays).
 * After the child is SIGKILLed, the operating system has dropped its lock: the parent opens the
 * store, sees the child's write, and its pid replaces the child's in the LOCK file; after a clean
 * exit the LOCK file stays, unlocked. Children that open at once, over the LOCK file of a killed
 * holder, are let in one at a time: in every round exactly one holds the store (and is then
 * killed, for the next round).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.js';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';
import { spawnTsxChild, type TsxChild } from '../support/child-process.js';
import { carveError, withTempDir } from './kv-helpers.js';

const childScript = fileURLToPath(new URL('./kv-lock-child.ts', import.meta.url));

interface Holder {
  child: TsxChild;
  pid: number;
}

/** Starts the child and resolves once it has printed "ready" (or fails if it exits first). */
async function startHolder(dir: string): Promise<Holder> {
  const child = spawnTsxChild(childScript, [dir], { stdin: 'pipe' });
  const readyPid = (): number | undefined => {
    const match = /^ready (\d+)$/.exec(child.lines[0] ?? '');
    return match === null ? undefined : Number(match[1]);
  };
  await child.until(() => readyPid() !== undefined);
  const pid = readyPid();
  if (pid === undefined) {
    const { code, signal } = await child.closed;
    throw new Error(`child exited before ready (code ${code}, signal ${signal}): ${child.stderr}`);
  }
  return { child, pid };
}

async function listing(dir: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const name of await readdir(join(dir, 'db'))) state[name] = (await readFile(join(dir, 'db', name))).toString('hex');
  return state;
}

describe('the store lock across processes', () => {
  it('is E_DB_LOCKED while another process holds the store, and free once that process is killed', { timeout: 30_000 }, async () => {
    await withTempDir('carve-kv-lock-', async (dir) => {
      const holder = await startHolder(dir);
      try {
        const storage = await NodeStorage.open(dir);
        assert.equal(await readFile(join(dir, 'db', 'LOCK'), 'utf8'), `${holder.pid}\n`);
        const before = await listing(dir);
        await assert.rejects(KvStore.open(storage, 'db'), carveError(ErrorCodes.DB_LOCKED, { path: 'db/LOCK' }));
        await assert.rejects(KvStore.open(await NodeStorage.open(dir), 'db'), carveError(ErrorCodes.DB_LOCKED), 'through another NodeStorage too');
        assert.deepEqual(await listing(dir), before, 'the refused open changed nothing (the LOCK is still the child\'s)');

        const { signal } = await holder.child.killAndWait();
        assert.equal(signal, 'SIGKILL');
        assert.equal(await readFile(join(dir, 'db', 'LOCK'), 'utf8'), `${holder.pid}\n`, 'the dead child left its LOCK file');

        const db = await KvStore.open(storage, 'db');
        try {
          assert.equal(await readFile(join(dir, 'db', 'LOCK'), 'utf8'), `${process.pid}\n`, 'the lock taken, by this process');
          assert.equal(Buffer.from(db.get(Buffer.from('written-by-child'))!).toString(), String(holder.pid));
          await db.put(Buffer.from('written-by-parent'), Buffer.from('yes'));
        } finally {
          await db.close();
        }
      } finally {
        await holder.child.killAndWait();
      }
    });
  });

  it('is released when the holder closes the store and exits cleanly', { timeout: 30_000 }, async () => {
    await withTempDir('carve-kv-lock-', async (dir) => {
      const holder = await startHolder(dir);
      try {
        const storage = await NodeStorage.open(dir);
        await assert.rejects(KvStore.open(storage, 'db'), carveError(ErrorCodes.DB_LOCKED));
        holder.child.process.stdin!.end();
        const { code, signal } = await holder.child.closed;
        assert.equal(code, 0, `clean exit: ${holder.child.stderr}`);
        assert.equal(signal, null);
        assert.equal(await readFile(join(dir, 'db', 'LOCK'), 'utf8'), `${holder.pid}\n`, 'the LOCK file stays, naming its last holder');
        const db = await KvStore.open(storage, 'db');
        try {
          assert.notEqual(db.get(Buffer.from('written-by-child')), undefined);
        } finally {
          await db.close();
        }
      } finally {
        await holder.child.killAndWait();
      }
    });
  });

  it('lets one of several processes opening at once hold the store, over the LOCK file of a killed holder', { timeout: 60_000 }, async () => {
    await withTempDir('carve-kv-lock-', async (dir) => {
      const killed = await startHolder(dir);
      await killed.child.killAndWait();
      const rounds = 3;
      const racers = 3;
      for (let round = 1; round <= rounds; round++) {
        const children = Array.from({ length: racers }, () => spawnTsxChild(childScript, [dir, '--race'], { stdin: 'pipe' }));
        try {
          for (const child of children) assert.ok(await child.until(() => child.lines.length > 0), `a racer exited early: ${child.stderr}`);
          for (const child of children) child.process.stdin!.write('go\n');
          const outcome = (child: TsxChild): string | undefined => /^(ready|locked) /.exec(child.lines[1] ?? '')?.[1];
          for (const child of children) assert.ok(await child.until(() => outcome(child) !== undefined), `a racer failed: ${child.stderr}`);
          const outcomes = children.map(outcome).sort();
          assert.deepEqual(outcomes, ['locked', 'locked', 'ready'], `round ${round}: one holder, the others refused`);
          for (const child of children) {
            // The refused exit on their own; the holder is killed, so that the next round, too,
            // races over the LOCK file of a killed holder.
            if (outcome(child) === 'ready') child.kill();
            const { code, signal } = await child.closed;
            if (outcome(child) === 'locked') assert.equal(code, 0, child.stderr);
            else assert.equal(signal, 'SIGKILL');
          }
        } finally {
          for (const child of children) await child.killAndWait();
        }
      }
    });
  });
});
