/**
 * What reading a journal can find besides whole, sealed blocks. A finding is either a possible
 * crash artifact (damaged bytes, entries whose seal is missing, a seal missing some of its
 * entries: what a power cut before an fdatasync leaves) or something no crash can produce
 * (a checksummed record that contradicts its seal or its writer's chain). The analysis decides
 * which crash artifacts are really torn, never-acknowledged writes, and which lie in synced
 * data and so are corruption.
 */

export type FindingKind =
  /** Bytes that are not a valid record (zeros, garbage, a torn or changed record). */
  | 'damaged'
  /** Valid entries whose seal is not there. */
  | 'unsealed'
  /** A valid seal without all of its entries right before it. */
  | 'incomplete-block'
  /** A record whose checksums match but whose body does not decode. */
  | 'malformed'
  /** An entry whose hash differs from the one its seal lists. */
  | 'entry-changed'
  /** A writer's later block exists, but blocks before it are missing (offset: where the missing block was; endOffset: the later block). */
  | 'missing-blocks'
  /** A writer's block appears after a later one of the same writer, or twice. */
  | 'out-of-order'
  /** A block's entry seqs do not continue the writer's previous block. */
  | 'seq-mismatch'
  /** A block does not chain to the writer's previous block (that block or its seal changed). */
  | 'chain-mismatch'
  /** A writer's previous block is not at the offset its next block recorded. */
  | 'moved'
  /** A seal's durable frontier is impossible (past the block itself, or going backwards). */
  | 'bad-frontier'
  /** Bytes a seal committed to as durable (its frontier digest) have changed. */
  | 'sealed-bytes-changed';

export interface Finding {
  readonly kind: FindingKind;
  readonly offset: number;
  readonly endOffset: number;
  /** True when a crash before a sync could have left this. */
  readonly crashArtifact: boolean;
  readonly writer?: string;
  readonly seq?: number;
  /** writer/seq were read from damaged bytes: only a hint for messages. */
  readonly claimed?: boolean;
  readonly detail: string;
}

/** "writer#seq" or what is known of it. */
export function nameOf(finding: Pick<Finding, 'writer' | 'seq' | 'claimed'>): string {
  if (finding.writer === undefined) return 'unknown writer';
  const name = finding.seq === undefined ? finding.writer : `${finding.writer}#${finding.seq}`;
  return finding.claimed === true ? `apparently ${name}` : name;
}
