/**
 * CarveLevel hands the store's own options to KvStore: with logRecycling off, a checkpoint
 * keeps no spare log; by default it keeps one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CarveLevel } from '../../src/kv/level.js';
import { spareLogName } from '../../src/kv/log-recycling.js';
import { withTempDir } from './kv-helpers.js';

describe('CarveLevel options', () => {
  for (const logRecycling of [undefined, false]) {
    it(`logRecycling ${String(logRecycling)}: ${logRecycling === false ? 'no spare' : 'a spare'} after a checkpoint`, async () => {
      await withTempDir('carve-level-options-', async (dir) => {
        const location = join(dir, 'db');
        const level = new CarveLevel(location, { checkpointThresholdBytes: 0, ...(logRecycling === undefined ? {} : { logRecycling }) });
        await level.open();
        try {
          await level.put(new Uint8Array([1]), new Uint8Array([2]));
          await level.kv.checkpoint();
        } finally {
          await level.close();
        }
        assert.equal((await readdir(location)).includes(spareLogName), logRecycling !== false);
      });
    });
  }
});
