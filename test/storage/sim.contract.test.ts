/**
 * SimStorage, with no crash, passes the same Storage contract as NodeStorage on the real disk
 * (test/storage/contract.ts): a simulated storage is indistinguishable from Linux to the code
 * that uses it, operation by operation and error by error. Its processId belongs to the
 * simulated world (1 unless given), never the host's pid, so simulated runs do not depend on it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { storageContract } from './contract.js';

storageContract('SimStorage', async () => ({
  storage: new SimStorage(),
  cleanup: async () => {},
}));

describe('SimStorage only', () => {
  it("has the simulated process's id, 1 unless given, never the host's pid", () => {
    assert.equal(new SimStorage().processId, 1);
    assert.equal(new SimStorage({ processId: 4242 }).processId, 4242);
  });
});
