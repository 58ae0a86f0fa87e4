/** Every scenario family `carve lab` runs, in the order of the essay. */
import { atomicReplaceFamily } from './atomic-replace.js';
import { bankFamily } from './bank.js';
import type { ScenarioFamily } from './family.js';
import { notebookFamily } from './notebook.js';
import { secureWriteFamily } from './secure-write.js';
import { universeFamily } from './universe.js';

export function labFamilies(): ScenarioFamily[] {
  return [atomicReplaceFamily(), secureWriteFamily(), bankFamily(), notebookFamily(), universeFamily()];
}
