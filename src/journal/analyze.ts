/**
 * Reads a whole journal file's bytes into entries, set-aside torn writes and problems.
 *
 * Guarantees: an entry is returned only if its whole block (entries and seal, written by one
 * write call) is present and consistent with its writer's chain. Damaged bytes and partial
 * blocks are set aside as torn, never returned as data, but only when no crash-free history
 * contradicts that: if the same writer sealed a later block (it writes block n+1 only after
 * block n's fdatasync returned), or if a seal's frontier digest covers them and no longer
 * matches while no matching frontier covers them, they lay in synced data and are reported as
 * corruption with file offset, writer and seq. A frontier mismatch with no other explanation is
 * itself reported, naming the first record of the changed range. Problems are sorted by offset;
 * the first is the first bad entry.
 */
import { blockFrontierChecks, type FrontierCheck } from './frontier-checks.js';
import { type SealedBlock, groupBlocks } from './blocks.js';
import { checkWriterChains } from './chains.js';
import { type Finding, nameOf } from './findings.js';
import { asBuffer } from './format.js';
import { type HeaderState, headerBytes, headerStateOf } from './header.js';
import { type ScanItem, scanRecords } from './scan.js';

export interface JournalEntry {
  /** File offset of the entry's record. */
  readonly offset: number;
  readonly writer: string;
  /** The writer's sequence number for this entry, from 1. */
  readonly seq: number;
  /** Position of the entry's block among all whole blocks, in file order, from 1. */
  readonly block: number;
  /** The writer's own block number, from 1. */
  readonly writerBlock: number;
  readonly data: Uint8Array;
}

/** Torn, never-acknowledged bytes: kept in the file, never returned as entries. */
export interface SetAside {
  readonly kind: 'damaged' | 'unsealed' | 'incomplete-block' | 'interrupted-creation';
  readonly offset: number;
  readonly endOffset: number;
  /** Nothing valid follows: the torn tail a crash leaves. */
  readonly atEnd: boolean;
  readonly detail: string;
}

export interface JournalAnalysis {
  readonly path: string;
  readonly sizeBytes: number;
  readonly header: HeaderState;
  readonly blocks: readonly SealedBlock[];
  readonly entries: readonly JournalEntry[];
  readonly setAside: readonly SetAside[];
  /** Corruption, in file order; empty when the journal verifies. */
  readonly problems: readonly Finding[];
  readonly writers: readonly string[];
}

export function analyzeJournalBytes(bytes: Uint8Array, path: string): JournalAnalysis {
  const file = asBuffer(bytes);
  const header = headerStateOf(file, path);
  const base = { path, sizeBytes: file.length, header, blocks: [], entries: [], problems: [], writers: [] };
  if (header === 'empty') return { ...base, setAside: [] };
  if (header === 'interrupted') {
    const detail = 'the journal header never became durable (creation interrupted by a crash); no record can follow it';
    return { ...base, setAside: [{ kind: 'interrupted-creation', offset: 0, endOffset: headerBytes, atEnd: true, detail }] };
  }
  const items = scanRecords(file, headerBytes);
  const { blocks, findings } = groupBlocks(items);
  const frontiers = blockFrontierChecks(file, blocks);
  const problems: Finding[] = [...findings.filter((f) => !f.crashArtifact), ...checkWriterChains(blocks)];
  const setAside: SetAside[] = [];
  const lastBlockOf = new Map(blocks.map((block) => [block.writer, block]));
  for (const finding of findings.filter((f) => f.crashArtifact)) {
    const synced = syncedEvidence(finding, lastBlockOf, frontiers);
    if (synced === undefined) {
      setAside.push({
        kind: finding.kind as SetAside['kind'],
        offset: finding.offset,
        endOffset: finding.endOffset,
        atEnd: finding.endOffset === file.length,
        detail: `${finding.detail} (${nameOf(finding)}): torn, never acknowledged`,
      });
    } else {
      problems.push({ ...finding, crashArtifact: false, detail: `${finding.detail}, in synced data: ${synced}` });
    }
  }
  mergeAdjacent(setAside);
  const unexplained = unexplainedFrontierChange(frontiers, problems, items);
  if (unexplained !== undefined) problems.push(unexplained);
  const specific = problems.filter((problem) => !explainedGap(problem, problems));
  specific.sort((a, b) => a.offset - b.offset || rank(a) - rank(b) || a.endOffset - b.endOffset);

  const entries = blocks.flatMap((block) =>
    block.entries.map((entry) => ({
      offset: entry.offset,
      writer: block.writer,
      seq: entry.seq,
      block: block.index,
      writerBlock: block.blockSeq,
      data: entry.data,
    })),
  );
  const writers = [...new Set(blocks.map((block) => block.writer))];
  return { ...base, blocks, entries, setAside, problems: specific, writers };
}

/** At the same offset, the damage itself comes before what it displaced (a moved block, a broken frontier). */
function rank(finding: Finding): number {
  return finding.kind === 'moved' || finding.kind === 'bad-frontier' || finding.kind === 'sealed-bytes-changed' ? 1 : 0;
}

/**
 * A writer's missing block is often found more precisely where it stood (a damaged, partial or
 * reordered block of the same writer): then the gap its next block reveals adds nothing.
 */
function explainedGap(problem: Finding, problems: readonly Finding[]): boolean {
  if (problem.kind !== 'missing-blocks') return false;
  return problems.some(
    (other) =>
      other !== problem &&
      other.kind !== 'missing-blocks' &&
      other.writer === problem.writer &&
      other.offset >= problem.offset &&
      other.offset < problem.endOffset,
  );
}

/** One torn write often shows as several findings (whole entries, then damaged bytes): report it as one region. */
function mergeAdjacent(regions: SetAside[]): void {
  for (let i = regions.length - 1; i > 0; i--) {
    const previous = regions[i - 1]!;
    const next = regions[i]!;
    if (previous.endOffset !== next.offset) continue;
    regions.splice(i - 1, 2, { ...next, kind: previous.kind, offset: previous.offset, detail: `${previous.detail}; then ${next.detail}` });
  }
}

/** Why a possible crash artifact must instead lie in synced data, or undefined if nothing says so. */
function syncedEvidence(
  finding: Finding,
  lastBlockOf: ReadonlyMap<string, SealedBlock>,
  frontiers: readonly FrontierCheck[],
): string | undefined {
  if (finding.writer !== undefined && finding.claimed !== true) {
    const later = lastBlockOf.get(finding.writer);
    if (later !== undefined && later.offset > finding.offset) {
      return `writer ${finding.writer} sealed block ${later.blockSeq} at offset ${later.offset} after it, which it does only once everything before is synced`;
    }
  }
  const coveredIntact = frontiers.some((check) => check.matches && check.frontierBytes >= finding.endOffset);
  if (coveredIntact) return undefined; // Already damaged when a later writer sealed it as durable: an old torn write.
  const broken = frontiers.find((check) => !check.matches && check.frontierBytes > finding.offset);
  if (broken === undefined) return undefined;
  return `block ${broken.block.blockSeq} of writer ${broken.block.writer} (offset ${broken.block.offset}) sealed the bytes before offset ${broken.frontierBytes} as durable, and they have changed since`;
}

/**
 * A frontier mismatch that no reported problem explains: the first changed range is
 * [last matching frontier below it, first mismatching frontier); name its first record.
 */
function unexplainedFrontierChange(
  frontiers: readonly FrontierCheck[],
  problems: readonly Finding[],
  items: readonly ScanItem[],
): Finding | undefined {
  const broken = frontiers.filter((check) => !check.matches).sort((a, b) => a.frontierBytes - b.frontierBytes)[0];
  if (broken === undefined) return undefined;
  const intactBytes = Math.max(
    headerBytes,
    ...frontiers.filter((check) => check.matches && check.frontierBytes < broken.frontierBytes).map((check) => check.frontierBytes),
  );
  if (problems.some((problem) => problem.offset < broken.frontierBytes && problem.endOffset >= intactBytes)) return undefined;
  const first = items.find((item) => item.endOffset > intactBytes);
  const named =
    first === undefined
      ? {}
      : first.kind === 'damaged'
        ? first.claims === undefined
          ? {}
          : { writer: first.claims.writer, ...(first.claims.seq === undefined ? {} : { seq: first.claims.seq }), claimed: true }
        : first.body.kind === 'entry'
          ? { writer: first.body.writer, seq: first.body.seq }
          : first.body.kind === 'seal'
            ? { writer: first.body.writer, seq: first.body.firstSeq }
            : {};
  return {
    kind: 'sealed-bytes-changed',
    offset: first?.offset ?? intactBytes,
    endOffset: broken.frontierBytes,
    crashArtifact: false,
    ...named,
    detail:
      `bytes in [${intactBytes}, ${broken.frontierBytes}) differ from what block ${broken.block.blockSeq} of writer ` +
      `${broken.block.writer} (offset ${broken.block.offset}) sealed as durable: changed, removed, inserted or reordered`,
  };
}
