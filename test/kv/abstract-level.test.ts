/**
 * Runs abstract-level's own suite (thousands of assertions, via tape) against CarveLevel in a
 * child process, and fails with the failing assertions listed if any of them fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const suitePath = fileURLToPath(new URL('./abstract-level-suite.ts', import.meta.url));

it("passes abstract-level's test suite", () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', suitePath], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${run.stdout}\n${run.stderr}`;
  const failures = output.split('\n').filter((line) => line.startsWith('not ok'));
  const passed = /^# pass\s+(\d+)/m.exec(output)?.[1];
  assert.deepEqual(failures, [], `failing assertions:\n${failures.slice(0, 40).join('\n')}`);
  assert.equal(run.status, 0, `suite exited with ${run.status}:\n${output.slice(-2000)}`);
  assert.ok(Number(passed) > 4000, `expected thousands of passing assertions, got ${passed}`);
});
