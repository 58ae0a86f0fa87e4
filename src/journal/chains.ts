/**
 * Each writer's blocks must form an unbroken chain in file order: block seqs 1, 2, 3, ...;
 * entry seqs continuing from one block to the next; each seal naming the chain value and the
 * exact file offset of the writer's previous block; each frontier exactly the end of the
 * writer's previous block (for a first block: not before the header, not past the block).
 * A writer writes block n+1 only after the fdatasync of block n has returned, so none of these
 * can be broken by a crash: every break is reported, naming the first bad entry (or, for a
 * missing block, where it was sealed).
 */
import { bytesEqual } from '../storage/files.js';
import type { SealedBlock } from './blocks.js';
import type { Finding } from './findings.js';
import { headerBytes } from './header.js';
import { zeroHash } from './records.js';

interface WriterState {
  readonly last: SealedBlock;
  readonly nextSeq: number;
}

export function checkWriterChains(blocks: readonly SealedBlock[]): Finding[] {
  const findings: Finding[] = [];
  const states = new Map<string, WriterState>();
  for (const block of blocks) {
    const finding = checkBlock(block, states.get(block.writer));
    if (finding !== undefined) findings.push(finding);
    states.set(block.writer, { last: block, nextSeq: block.firstSeq + block.entries.length });
  }
  return findings;
}

function checkBlock(block: SealedBlock, previous: WriterState | undefined): Finding | undefined {
  const { seal, writer } = block;
  const expectedBlockSeq = (previous?.last.blockSeq ?? 0) + 1;
  const expectedSeq = previous?.nextSeq ?? 1;
  const at = (offset: number, endOffset: number, seq: number, kind: Finding['kind'], detail: string): Finding => ({
    kind,
    offset,
    endOffset,
    crashArtifact: false,
    writer,
    seq,
    detail,
  });
  const blockRange = `block ${block.blockSeq} (offset ${block.offset})`;
  if (block.blockSeq > expectedBlockSeq) {
    const where = seal.prevBlockOffset > 0 ? seal.prevBlockOffset : block.offset;
    return at(where, block.offset, expectedSeq, 'missing-blocks',
      `blocks ${expectedBlockSeq}..${block.blockSeq - 1} of this writer are missing (from entry ${expectedSeq}); its ${blockRange} was sealed after them`);
  }
  if (block.blockSeq < expectedBlockSeq) {
    return at(block.offset, block.endOffset, block.firstSeq, 'out-of-order',
      `${blockRange} appears after block ${expectedBlockSeq - 1} of the same writer (duplicated or reordered)`);
  }
  if (block.firstSeq !== expectedSeq) {
    return at(block.offset, block.endOffset, block.firstSeq, 'seq-mismatch',
      `${blockRange} starts at entry ${block.firstSeq}, but the writer's previous block ended before entry ${expectedSeq}`);
  }
  if (previous === undefined) {
    if (seal.prevBlockOffset !== 0 || !bytesEqual(seal.prevChain, zeroHash)) {
      return at(block.offset, block.endOffset, block.firstSeq, 'chain-mismatch', `the writer's first block names a previous block`);
    }
  } else {
    const last = previous.last;
    if (!bytesEqual(seal.prevChain, last.chain)) {
      return at(last.offset, last.endOffset, last.firstSeq, 'chain-mismatch',
        `block ${last.blockSeq} (offset ${last.offset}) is not the block that block ${block.blockSeq} (offset ${block.offset}) chained to: its seal was changed`);
    }
    if (seal.prevBlockOffset !== last.offset) {
      return at(last.offset, last.endOffset, last.firstSeq, 'moved',
        `block ${last.blockSeq} was sealed at offset ${seal.prevBlockOffset} (recorded by block ${block.blockSeq}), but is found at offset ${last.offset}`);
    }
    if (seal.frontierBytes !== last.endOffset) {
      return at(block.offset, block.endOffset, block.firstSeq, 'bad-frontier',
        `${blockRange} sealed a durable frontier at ${seal.frontierBytes}, but its previous block ends at ${last.endOffset}`);
    }
  }
  if (seal.frontierBytes < headerBytes || seal.frontierBytes > block.offset) {
    return at(block.offset, block.endOffset, block.firstSeq, 'bad-frontier',
      `${blockRange} claims the file was durable up to offset ${seal.frontierBytes} before it was written; bytes before it were removed or moved`);
  }
  return undefined;
}
