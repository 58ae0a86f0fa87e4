/**
 * replaceFileAtomically under SIGKILL on the real disk. A child process (replace-child.ts)
 * replaces 'target' with version 1, 2, 3, ... (256 KiB to 1 MiB each) and acknowledges each
 * resolved replace on stdout; the parent kills it with SIGKILL at a randomised moment, many
 * times in a row on the same directory, and checks after every kill that 'target' holds
 * exactly one whole version (never a mix, never empty, never torn) and that this version is
 * the last acknowledged one or the one after it: never older than an acknowledged version.
 * Leftover '.carve-tmp-' files may remain after a kill (they must hold a prefix of the
 * in-flight version and are swept before the next run), but never under the target name.
 *
 * Scope: SIGKILL exercises process death only. The kernel's page cache survives it, so this
 * test says nothing about fsync ordering under power loss; those cases are covered by the
 * simulator lab.
 */
import { mkdtemp, readFile, readdir, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tempMarker } from '../../src/durable/temp-names.js';
import { spawnTsxChild } from '../support/child-process.js';
import { seededRandom } from '../support/seeded-random.js';
import { contentFor, parseHeader, targetName } from './replace-child.js';

const childScript = fileURLToPath(new URL('./replace-child.ts', import.meta.url));

const kills = 40;
const seed = Number(process.env.CARVE_SIGKILL_SEED ?? 0x5eed_c0de);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface KillRun {
  /** Highest version acknowledged before the kill was sent. */
  ackedAtKill: number;
  /** Highest version acknowledged in the child's whole stdout (read to EOF after the kill). */
  ackedTotal: number;
  signal: NodeJS.Signals | null;
  exitCode: number | null;
  stderr: string;
}

/** Runs one child from `firstVersion`, kills it after `extraAcks` more acks plus a random delay. */
async function runAndKill(dir: string, firstVersion: number, random: () => number): Promise<KillRun> {
  const acks: number[] = [];
  const ackTimes: number[] = [];
  const badLines: string[] = [];
  const child = spawnTsxChild(childScript, [dir, String(firstVersion)], {
    onLine: (line) => {
      const match = /^acked (\d+)$/.exec(line);
      if (match === null) badLines.push(line);
      else acks.push(Number(match[1]));
      ackTimes.push(performance.now());
    },
  });
  const extraAcks = 1 + Math.floor(random() * 3); // kill after 2 to 4 acks
  const delayFraction = random(); // then somewhere within about one replace period

  try {
    // Wait (without any deadline of our own) for enough acks, or for the child to die early.
    if (!(await child.until(() => acks.length >= 1 + extraAcks))) {
      const { code, signal } = await child.closed;
      assert.fail(`child exited before the kill (code ${code}, signal ${signal}): ${child.stderr}`);
    }
    const first = ackTimes[0] ?? 0;
    const last = ackTimes[ackTimes.length - 1] ?? 0;
    const periodMs = acks.length > 1 ? (last - first) / (acks.length - 1) : 10;
    await sleep(delayFraction * periodMs * 1.2);
    const ackedAtKill = acks.length === 0 ? 0 : Math.max(...acks);
    const { code, signal } = await child.killAndWait();
    // Everything the child wrote before dying is in the pipe and has now been read.
    assert.deepEqual(badLines, [], 'the child writes nothing but ack lines');
    for (const [index, version] of acks.entries()) {
      assert.equal(version, firstVersion + index, 'acks are consecutive versions from the first');
    }
    return { ackedAtKill, ackedTotal: Math.max(...acks), signal, exitCode: code, stderr: child.stderr };
  } finally {
    child.kill();
  }
}

function isPrefixOf(prefix: Uint8Array, whole: Uint8Array): boolean {
  if (prefix.length > whole.length) return false;
  return Buffer.from(whole.buffer, whole.byteOffset, prefix.length).equals(prefix);
}

describe('replaceFileAtomically under SIGKILL (real disk, process death only)', () => {
  it(`leaves the target whole and never older than acknowledged across ${kills} kills`, { timeout: 120_000 }, async (t) => {
    const random = seededRandom(seed);
    const dir = await mkdtemp(join(tmpdir(), 'carve-sigkill-'));
    const outcomes = { tempPartial: 0, tempComplete: 0, renamedNotAcked: 0, atAckedVersion: 0 };
    let leftoverTemps = 0;
    let nextVersion = 1;
    try {
      for (let kill = 1; kill <= kills; kill += 1) {
        const where = `kill ${kill} (seed ${seed})`;
        const run = await runAndKill(dir, nextVersion, random);
        assert.equal(run.signal, 'SIGKILL', `${where}: the child died of the kill, not on its own: ${run.stderr}`);
        assert.ok(run.ackedAtKill >= nextVersion, `${where}: at least one ack before the kill`);

        const names = await readdir(dir);
        const temps = names.filter((name) => name.startsWith(tempMarker));
        assert.deepEqual(
          names.filter((name) => !name.startsWith(tempMarker)),
          [targetName],
          `${where}: only the target and temp files in the directory`,
        );
        for (const name of temps) {
          assert.ok(name.startsWith(`${tempMarker}${targetName}.`), `${where}: temp ${name} is named for the target`);
        }
        assert.ok(temps.length <= 1, `${where}: at most one temp per kill, got ${temps.length}`);

        assert.equal((await stat(join(dir, targetName))).isFile(), true, `${where}: target is a regular file`);
        const data = new Uint8Array(await readFile(join(dir, targetName)));
        assert.ok(data.length > 0, `${where}: target is not empty`);
        const header = parseHeader(data);
        assert.ok(header !== undefined, `${where}: target starts with a version header (torn or foreign content?)`);
        const version = header.version;
        assert.ok(
          version >= run.ackedAtKill,
          `${where}: target holds version ${version}, older than the acknowledged ${run.ackedAtKill}`,
        );
        assert.ok(
          version === run.ackedTotal || version === run.ackedTotal + 1,
          `${where}: target holds version ${version}; the child acked up to ${run.ackedTotal}, so only that or the next is possible`,
        );
        assert.equal(header.lengthBytes, data.length, `${where}: target length matches its header (not torn)`);
        assert.ok(
          Buffer.from(data).equals(contentFor(version)),
          `${where}: target bytes are exactly version ${version} (no mix of versions)`,
        );

        for (const name of temps) {
          // The in-flight version was never renamed: its temp holds a prefix of it.
          assert.equal(version, run.ackedTotal, `${where}: a temp survived although version ${version} was renamed`);
          const tempData = new Uint8Array(await readFile(join(dir, name)));
          assert.ok(
            isPrefixOf(tempData, contentFor(run.ackedTotal + 1)),
            `${where}: leftover temp holds a prefix of the in-flight version ${run.ackedTotal + 1}`,
          );
          leftoverTemps += 1;
          if (tempData.length < contentFor(run.ackedTotal + 1).length) outcomes.tempPartial += 1;
          else outcomes.tempComplete += 1;
          await unlink(join(dir, name)); // what a recovery sweep would do
        }

        if (temps.length > 0) {
          // counted above, by how much of the in-flight version the temp held
        } else if (version === run.ackedTotal + 1) outcomes.renamedNotAcked += 1;
        else outcomes.atAckedVersion += 1;
        nextVersion = version + 1;
      }
      t.diagnostic(
        `seed ${seed}: ${kills} kills; temp left over, created but not fully written (killed before or mid-write): ${outcomes.tempPartial}; ` +
          `temp left over, fully written (killed during fsync/close/before rename): ${outcomes.tempComplete}; ` +
          `renamed but not acked: ${outcomes.renamedNotAcked}; at the acked version: ${outcomes.atAckedVersion}; ` +
          `leftover temps swept: ${leftoverTemps}; versions written: ${nextVersion - 1}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
