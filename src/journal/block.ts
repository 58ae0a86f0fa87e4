/**
 * Builds the bytes of one block: the framed entry records, then the framed seal that lists
 * their hashes and commits to the writer's previous block (chain value and file offset) and to
 * the durable frontier (size and SHA-256 of the file before it). Pure: the writer decides the
 * fields, this only lays them out, so the block can be written with one write call.
 */
import { assert } from '../errors.js';
import { frameRecord } from './format.js';
import { encodeEntryBody, encodeSealBody, sha256 } from './records.js';

export interface BlockPlan {
  readonly writer: string;
  readonly blockSeq: number;
  readonly firstSeq: number;
  readonly prevChain: Uint8Array;
  readonly prevBlockOffset: number;
  readonly frontierBytes: number;
  readonly frontierDigest: Uint8Array;
  readonly payloads: readonly Uint8Array[];
}

export interface BuiltBlock {
  readonly bytes: Buffer;
  /** The block's chain value (SHA-256 of its seal body). */
  readonly chain: Buffer;
  /** Offset of each entry record within `bytes`. */
  readonly entryOffsets: readonly number[];
}

export function buildBlock(plan: BlockPlan): BuiltBlock {
  assert(plan.payloads.length > 0, 'a block holds at least one entry');
  const entryBodies = plan.payloads.map((data, i) => encodeEntryBody({ writer: plan.writer, seq: plan.firstSeq + i, data }));
  const sealBody = encodeSealBody({
    writer: plan.writer,
    blockSeq: plan.blockSeq,
    firstSeq: plan.firstSeq,
    prevBlockOffset: plan.prevBlockOffset,
    frontierBytes: plan.frontierBytes,
    prevChain: plan.prevChain,
    frontierDigest: plan.frontierDigest,
    entryHashes: entryBodies.map((body) => sha256(body)),
  });
  const records = [...entryBodies, sealBody].map(frameRecord);
  const entryOffsets: number[] = [];
  let offset = 0;
  for (const record of records.slice(0, -1)) {
    entryOffsets.push(offset);
    offset += record.length;
  }
  return { bytes: Buffer.concat(records), chain: sha256(sealBody), entryOffsets };
}
