/**
 * Groups scanned records into sealed blocks. A writer writes each block (its entries, then the
 * seal that lists their hashes) with one O_APPEND write call, so a whole block is contiguous:
 * a seal covering k entries must be preceded directly by exactly those k entries of its writer,
 * with consecutive seqs. Guarantees: every valid record ends up in exactly one block or one
 * finding; only entries of a whole block are ever returned as entries.
 */
import { bytesEqual } from '../storage/files.js';
import type { Finding } from './findings.js';
import type { EntryBody, SealBody } from './records.js';
import type { DamagedRegion, ScanItem, ScannedRecord } from './scan.js';

export interface BlockEntry {
  readonly offset: number;
  readonly endOffset: number;
  readonly seq: number;
  readonly data: Uint8Array;
}

export interface SealedBlock {
  /** 1-based position among all whole blocks, in file order. */
  readonly index: number;
  readonly writer: string;
  readonly blockSeq: number;
  readonly firstSeq: number;
  /** Offset of the block's first entry. */
  readonly offset: number;
  readonly endOffset: number;
  readonly sealOffset: number;
  readonly seal: SealBody;
  /** SHA-256 of the seal body: what the writer's next block must name as its previous chain. */
  readonly chain: Buffer;
  readonly entries: readonly BlockEntry[];
}

type EntryRecord = ScannedRecord & { readonly body: EntryBody };

export function groupBlocks(items: readonly ScanItem[]): { blocks: SealedBlock[]; findings: Finding[] } {
  const blocks: SealedBlock[] = [];
  const findings: Finding[] = [];
  let run: EntryRecord[] = [];
  const setAside = (entries: readonly EntryRecord[]) => findings.push(...unsealed(entries));

  for (const item of items) {
    if (item.kind === 'damaged') {
      setAside(run);
      run = [];
      findings.push(damaged(item));
      continue;
    }
    const body = item.body;
    if (body.kind === 'entry') {
      run.push(item as EntryRecord);
      continue;
    }
    if (body.kind === 'malformed') {
      setAside(run);
      run = [];
      findings.push({
        kind: 'malformed',
        offset: item.offset,
        endOffset: item.endOffset,
        crashArtifact: false,
        detail: `a record with matching checksums does not decode (${body.reason})`,
      });
      continue;
    }
    const count = body.entryHashes.length;
    const belongs = (entry: EntryRecord) =>
      entry.body.writer === body.writer && entry.body.seq >= body.firstSeq && entry.body.seq < body.firstSeq + count;
    const own = run.slice(Math.max(0, run.length - count));
    const whole = own.length === count && own.every((entry, i) => belongs(entry) && entry.body.seq === body.firstSeq + i);
    if (whole) {
      setAside(run.slice(0, run.length - count));
      own.forEach((entry, i) => {
        if (bytesEqual(entry.hash, body.entryHashes[i]!)) return;
        findings.push({
          kind: 'entry-changed',
          offset: entry.offset,
          endOffset: entry.endOffset,
          crashArtifact: false,
          writer: body.writer,
          seq: entry.body.seq,
          detail: `entry differs from the hash its block's seal (block ${body.blockSeq}, offset ${item.offset}) lists`,
        });
      });
      blocks.push({
        index: blocks.length + 1,
        writer: body.writer,
        blockSeq: body.blockSeq,
        firstSeq: body.firstSeq,
        offset: own[0]!.offset,
        endOffset: item.endOffset,
        sealOffset: item.offset,
        seal: body,
        chain: item.hash,
        entries: own.map((entry) => ({ offset: entry.offset, endOffset: entry.endOffset, seq: entry.body.seq, data: entry.body.data })),
      });
    } else {
      let first = run.length;
      while (first > 0 && belongs(run[first - 1]!)) first -= 1;
      setAside(run.slice(0, first));
      findings.push(partialBlock(body, run.slice(first), item));
    }
    run = [];
  }
  setAside(run);
  return { blocks, findings };
}

/**
 * A seal whose own entries are not all right before it, in order. Missing entries are what a
 * torn write leaves; all of them present but out of order or repeated, no crash can produce.
 * Names the first missing or misplaced entry, and where it should be.
 */
function partialBlock(seal: SealBody, present: readonly EntryRecord[], sealRecord: ScannedRecord): Finding {
  const count = seal.entryHashes.length;
  const range = `block ${seal.blockSeq} (entries ${seal.firstSeq}..${seal.firstSeq + count - 1})`;
  const base = { endOffset: sealRecord.endOffset, writer: seal.writer };
  if (present.length >= count) {
    const misplaced = present.findIndex((entry, i) => entry.body.seq !== seal.firstSeq + i);
    const entry = present[Math.max(0, misplaced)]!;
    return {
      ...base,
      kind: 'out-of-order',
      offset: entry.offset,
      crashArtifact: false,
      seq: entry.body.seq,
      detail: `entry ${entry.body.seq} stands where entry ${seal.firstSeq + Math.max(0, misplaced)} of ${range} belongs (reordered or repeated)`,
    };
  }
  const seqs = new Set(present.map((entry) => entry.body.seq));
  let missing = seal.firstSeq;
  while (seqs.has(missing)) missing += 1;
  const before = present.find((entry) => entry.body.seq === missing - 1);
  const offset = before?.endOffset ?? present[0]?.offset ?? sealRecord.offset;
  return {
    ...base,
    kind: 'incomplete-block',
    offset,
    crashArtifact: true,
    seq: missing,
    detail: `entry ${missing} of ${range} is missing: its seal is preceded by ${present.length} of its ${count} entries`,
  };
}

/** Consecutive unsealed entries of one writer make one finding. */
function unsealed(entries: readonly EntryRecord[]): Finding[] {
  const findings: Finding[] = [];
  let start = 0;
  for (let i = 1; i <= entries.length; i++) {
    if (i < entries.length && entries[i]!.body.writer === entries[start]!.body.writer) continue;
    const first = entries[start]!;
    const last = entries[i - 1]!;
    findings.push({
      kind: 'unsealed',
      offset: first.offset,
      endOffset: last.endOffset,
      crashArtifact: true,
      writer: first.body.writer,
      seq: first.body.seq,
      detail: `${i - start} valid entr${i - start === 1 ? 'y' : 'ies'} (seq ${first.body.seq}..${last.body.seq}) without the seal of their block`,
    });
    start = i;
  }
  return findings;
}

function damaged(region: DamagedRegion): Finding {
  const lengthBytes = region.endOffset - region.offset;
  const what = region.claims === undefined ? '' : `; it starts like a${region.claims.kind === 'entry' ? 'n' : ''} ${region.claims.kind} record`;
  return {
    kind: 'damaged',
    offset: region.offset,
    endOffset: region.endOffset,
    crashArtifact: true,
    ...(region.claims === undefined
      ? {}
      : { writer: region.claims.writer, ...(region.claims.seq === undefined ? {} : { seq: region.claims.seq }), claimed: true }),
    detail: `${lengthBytes} damaged byte${lengthBytes === 1 ? '' : 's'} (${region.reason})${what}`,
  };
}
