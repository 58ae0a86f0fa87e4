/**
 * abstract-level's own test suite against CarveLevel on the real disk (run by tape in a child
 * process from abstract-level.test.ts; also runnable directly). Each database gets a fresh
 * directory under one temporary root, removed at the end, and a memtable of 4 entries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import tape from 'tape';
import { CarveLevel } from '../../src/kv/level.js';

const require = createRequire(import.meta.url);
const suite = require('abstract-level/test') as (options: { test: typeof tape; factory: (options?: object) => CarveLevel }) => void;

const root = mkdtempSync(path.join(tmpdir(), 'carve-level-'));
let counter = 0;
suite({
  test: tape,
  // A memtable of 4 entries: the suite's reads, iterators and snapshots then cross sorted runs
  // and merges, not only the memtable.
  factory: (options?: object) => new CarveLevel(path.join(root, `db-${++counter}`), { memtableEntries: 4, ...options }),
});
tape.onFinish(() => rmSync(root, { recursive: true, force: true }));
