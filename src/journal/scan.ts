/**
 * Splits a journal file's bytes after the header into valid records and damaged regions, in
 * file order. Guarantees: the items tile [fromOffset, end of file) exactly, with no gap and no
 * overlap; a record is only what `recordAt` accepts; damaged bytes are never decoded as data
 * (at most their first bytes are peeked at, to name them in messages).
 */
import { assert } from '../errors.js';
import { type DamageReason, nextRecordAfter, recordAt } from './format.js';
import { type DecodedBody, decodeBody, peekIdentity, sha256 } from './records.js';

export interface ScannedRecord {
  readonly kind: 'record';
  readonly offset: number;
  readonly endOffset: number;
  readonly body: DecodedBody;
  /** SHA-256 of the record body. */
  readonly hash: Buffer;
}

export interface DamagedRegion {
  readonly kind: 'damaged';
  readonly offset: number;
  readonly endOffset: number;
  readonly reason: DamageReason;
  /** What the damaged record's first body bytes claim, if its header was intact. */
  readonly claims?: { readonly kind: 'entry' | 'seal'; readonly writer: string; readonly seq?: number };
}

export type ScanItem = ScannedRecord | DamagedRegion;

export function scanRecords(file: Buffer, fromOffset: number): ScanItem[] {
  const items: ScanItem[] = [];
  let offset = fromOffset;
  while (offset < file.length) {
    const parsed = recordAt(file, offset);
    if (parsed.ok) {
      items.push({ kind: 'record', offset, endOffset: parsed.endOffset, body: decodeBody(parsed.body), hash: sha256(parsed.body) });
      offset = parsed.endOffset;
      continue;
    }
    const endOffset = nextRecordAfter(file, offset) ?? file.length;
    const claims = parsed.bodyPrefix === undefined ? undefined : peekIdentity(parsed.bodyPrefix);
    items.push({ kind: 'damaged', offset, endOffset, reason: parsed.reason, ...(claims === undefined ? {} : { claims }) });
    offset = endOffset;
  }
  assert(offset === file.length, 'scan ends exactly at the end of the file');
  return items;
}
