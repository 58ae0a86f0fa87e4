/**
 * `carve journal` end to end, in child processes: append prints each entry once durable; read
 * and tail print entries as text or JSON; verify exits 0 on a good journal and 1 on a tampered
 * one, naming the first bad entry's offset and writer#seq; read refuses corrupt data with
 * E_CORRUPT (exit 2) naming the file and offset; a foreign file and bad usage are typed errors.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function carve(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('carve journal', () => {
  let dir = '';
  let journal = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carve-journal-cli-'));
    journal = join(dir, 'carve.journal');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends, reads, tails and verifies', async () => {
    const first = await carve(['journal', 'append', '--dir', dir, '-w', 'alice', 'first finding', 'second finding']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^appended alice-[0-9a-f]{8} #1 \(its block 1, offset 16\)\nappended alice-[0-9a-f]{8} #2 /);
    const second = await carve(['journal', 'append', '--journal', journal, '-w', 'bob', '--stdin', '--json'], 'line one\nline two\n');
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { seq: number }).seq), [1, 2]);

    const read = await carve(['journal', 'read', '--journal', journal, '--json']);
    assert.equal(read.code, 0, read.stderr);
    const entries = JSON.parse(read.stdout) as Array<{ writer: string; seq: number; block: number; text: string }>;
    assert.deepEqual(entries.map((e) => [e.seq, e.block, e.text]), [[1, 1, 'first finding'], [2, 1, 'second finding'], [1, 2, 'line one'], [2, 2, 'line two']]);
    const [tail, verify] = await Promise.all([
      carve(['journal', 'tail', '--journal', journal, '-n', '1']),
      carve(['journal', 'verify', '--dir', dir]),
    ]);
    assert.match(tail.stdout, /^block 2 {2}bob-[0-9a-f]{8} #2 {2}"line two"\n$/);
    assert.equal(verify.code, 0);
    assert.match(verify.stdout, /^ok: .*carve\.journal: 4 entries in 2 blocks from 2 writers/);
  });

  it('verify names the first bad entry of a tampered journal; read refuses it with E_CORRUPT', async () => {
    const bytes = await readFile(journal);
    const at = bytes.indexOf('first finding');
    bytes[at] = 'F'.charCodeAt(0);
    const tampered = join(dir, 'tampered.journal');
    await writeFile(tampered, bytes);
    const [verify, json, read] = await Promise.all([
      carve(['journal', 'verify', '--journal', tampered]),
      carve(['journal', 'verify', '--journal', tampered, '--json']),
      carve(['journal', 'read', '--journal', tampered]),
    ]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /^CORRUPT: .*tampered\.journal: first bad entry at offset 16 \(apparently alice-[0-9a-f]{8}#1\): damaged: /);
    const report = JSON.parse(json.stdout) as { ok: boolean; firstBadEntry: { offset: number; seq: number; writer: string } };
    assert.equal(report.ok, false);
    assert.equal(report.firstBadEntry.offset, 16);
    assert.equal(report.firstBadEntry.seq, 1);
    assert.equal(read.code, 2);
    assert.match(read.stderr, /E_CORRUPT: .*\(path: .*tampered\.journal, offset: 16\)/);
  });

  it('refuses foreign files and bad usage with typed errors', async () => {
    const foreign = join(dir, 'notes.txt');
    await writeFile(foreign, 'just some notes, not a journal\n');
    const [verify, read, usage] = await Promise.all([
      carve(['journal', 'verify', '--journal', foreign]),
      carve(['journal', 'read', '--journal', foreign]),
      carve(['journal', 'read']),
    ]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /E_FOREIGN_FILE/);
    assert.equal(read.code, 2);
    assert.match(read.stderr, /E_FOREIGN_FILE: not a Carve journal .*\(path: .*notes\.txt, offset: 0\)/);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give exactly one of --journal FILE and --dir DIR/);
    assert.equal(await readFile(foreign, 'utf8'), 'just some notes, not a journal\n', 'left unchanged');
  });
});
