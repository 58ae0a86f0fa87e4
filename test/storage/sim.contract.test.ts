/**
 * SimStorage, with no crash, passes the same Storage contract as NodeStorage on the real disk
 * (test/storage/contract.ts): a simulated storage is indistinguishable from Linux to the code
 * that uses it, operation by operation and error by error.
 */
import { SimStorage } from '../../src/sim/sim-storage.js';
import { storageContract } from './contract.js';

storageContract('SimStorage', async () => ({
  storage: new SimStorage(),
  cleanup: async () => {},
}));
