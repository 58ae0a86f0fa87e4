/**
 * The two kinds of record body and their hashes.
 *
 * An entry body is: type 1 | writer id length u8 | writer id | seq u64 | payload.
 * A seal body closes one writer's block (the entries it wrote with one write call, synced by
 * one fdatasync): type 2 | writer id length u8 | writer id | block seq u64 | first entry seq u64
 * | previous block offset u64 (0: none) | frontier bytes u64 | entry count u32 | previous chain
 * (32) | frontier digest (32) | SHA-256 of each entry body (32 each).
 *
 * Guarantees: encoding and decoding are exact inverses; a body that does not decode exactly is
 * reported as malformed, never guessed at. A block's chain value is the SHA-256 of its seal
 * body, which covers the previous chain value, so each writer's blocks form a hash chain.
 */
import { createHash } from 'node:crypto';
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { asBuffer } from './format.js';

export const hashBytes = 32;
export const zeroHash: Buffer = Buffer.alloc(hashBytes);
const entryType = 1;
const sealType = 2;
const writerIdPattern = /^[A-Za-z0-9._:@+=-]{1,64}$/;

export interface EntryBody {
  readonly kind: 'entry';
  readonly writer: string;
  readonly seq: number;
  readonly data: Uint8Array;
}

export interface SealBody {
  readonly kind: 'seal';
  readonly writer: string;
  /** 1 for the writer's first block. */
  readonly blockSeq: number;
  /** Seq of the block's first entry; the block holds entryHashes.length entries from there. */
  readonly firstSeq: number;
  /** File offset of the writer's previous block (0 for its first block: offset 0 is the header). */
  readonly prevBlockOffset: number;
  /** The file was durable up to here before this block was written (size measured before a completed fdatasync). */
  readonly frontierBytes: number;
  /** Chain value of the writer's previous block (zeros for its first). */
  readonly prevChain: Uint8Array;
  /** SHA-256 of the file's bytes [0, frontierBytes). */
  readonly frontierDigest: Uint8Array;
  readonly entryHashes: readonly Uint8Array[];
}

export type DecodedBody = EntryBody | SealBody | { readonly kind: 'malformed'; readonly reason: string };

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Throws E_INVALID_ARGUMENT unless `id` is 1 to 64 characters of [A-Za-z0-9._:@+=-]. */
export function checkWriterId(id: string): string {
  if (typeof id !== 'string' || !writerIdPattern.test(id)) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `writer id must be 1 to 64 characters of [A-Za-z0-9._:@+=-], got ${JSON.stringify(id)}`);
  }
  return id;
}

export function encodeEntryBody(entry: Omit<EntryBody, 'kind'>): Buffer {
  const writer = Buffer.from(checkWriterId(entry.writer), 'latin1');
  const out = Buffer.allocUnsafe(2 + writer.length + 8 + entry.data.length);
  let at = out.writeUInt8(entryType, 0);
  at = out.writeUInt8(writer.length, at);
  at += writer.copy(out, at);
  at = out.writeBigUInt64LE(toU64(entry.seq), at);
  out.set(entry.data, at);
  return out;
}

export function encodeSealBody(seal: Omit<SealBody, 'kind'>): Buffer {
  assert(seal.prevChain.length === hashBytes && seal.frontierDigest.length === hashBytes, 'seal hashes are 32 bytes');
  assert(seal.entryHashes.length > 0 && seal.entryHashes.every((h) => h.length === hashBytes), 'a seal covers at least one entry');
  const writer = Buffer.from(checkWriterId(seal.writer), 'latin1');
  const out = Buffer.allocUnsafe(2 + writer.length + 32 + 4 + 2 * hashBytes + hashBytes * seal.entryHashes.length);
  let at = out.writeUInt8(sealType, 0);
  at = out.writeUInt8(writer.length, at);
  at += writer.copy(out, at);
  at = out.writeBigUInt64LE(toU64(seal.blockSeq), at);
  at = out.writeBigUInt64LE(toU64(seal.firstSeq), at);
  at = out.writeBigUInt64LE(toU64(seal.prevBlockOffset), at);
  at = out.writeBigUInt64LE(toU64(seal.frontierBytes), at);
  at = out.writeUInt32LE(seal.entryHashes.length, at);
  for (const hash of [seal.prevChain, seal.frontierDigest, ...seal.entryHashes]) {
    out.set(hash, at);
    at += hashBytes;
  }
  assert(at === out.length, 'seal body filled exactly');
  return out;
}

export function decodeBody(bytes: Uint8Array): DecodedBody {
  const body = asBuffer(bytes);
  const identity = readIdentity(body);
  if (identity === undefined) return { kind: 'malformed', reason: 'unknown record type or bad writer id' };
  const { type, writer, at } = identity;
  if (type === entryType) {
    if (body.length < at + 8) return { kind: 'malformed', reason: 'entry body too short' };
    const seq = fromU64(body, at);
    if (seq === undefined || seq < 1) return { kind: 'malformed', reason: 'entry seq out of range' };
    return { kind: 'entry', writer, seq, data: body.subarray(at + 8) };
  }
  const fixedEnd = at + 36 + 2 * hashBytes;
  if (body.length < fixedEnd) return { kind: 'malformed', reason: 'seal body too short' };
  const numbers = [0, 8, 16, 24].map((delta) => fromU64(body, at + delta));
  const [blockSeq, firstSeq, prevBlockOffset, frontierBytes] = numbers;
  if (blockSeq === undefined || firstSeq === undefined || prevBlockOffset === undefined || frontierBytes === undefined) {
    return { kind: 'malformed', reason: 'seal number out of range' };
  }
  const count = body.readUInt32LE(at + 32);
  if (blockSeq < 1 || firstSeq < 1 || count < 1 || body.length !== fixedEnd + count * hashBytes) {
    return { kind: 'malformed', reason: 'seal fields inconsistent with its length' };
  }
  const hashAt = (index: number) => body.subarray(at + 36 + index * hashBytes, at + 36 + (index + 1) * hashBytes);
  return {
    kind: 'seal',
    writer,
    blockSeq,
    firstSeq,
    prevBlockOffset,
    frontierBytes,
    prevChain: hashAt(0),
    frontierDigest: hashAt(1),
    entryHashes: Array.from({ length: count }, (_, i) => hashAt(2 + i)),
  };
}

/**
 * Best effort for naming a damaged record: the kind, writer and seq its first bytes claim.
 * Only for messages; nothing is ever decided on it.
 */
export function peekIdentity(bodyPrefix: Uint8Array): { kind: 'entry' | 'seal'; writer: string; seq?: number } | undefined {
  const body = asBuffer(bodyPrefix);
  const identity = readIdentity(body);
  if (identity === undefined) return undefined;
  const kind = identity.type === entryType ? 'entry' : 'seal';
  // For a seal, the seq of interest is its first entry's, 8 bytes after the block seq.
  const seqAt = kind === 'entry' ? identity.at : identity.at + 8;
  const seq = body.length >= seqAt + 8 ? fromU64(body, seqAt) : undefined;
  return seq === undefined ? { kind, writer: identity.writer } : { kind, writer: identity.writer, seq };
}

function readIdentity(body: Buffer): { type: number; writer: string; at: number } | undefined {
  if (body.length < 2) return undefined;
  const type = body.readUInt8(0);
  if (type !== entryType && type !== sealType) return undefined;
  const writerBytes = body.readUInt8(1);
  if (body.length < 2 + writerBytes) return undefined;
  const writer = body.toString('latin1', 2, 2 + writerBytes);
  if (!writerIdPattern.test(writer)) return undefined;
  return { type, writer, at: 2 + writerBytes };
}

function toU64(value: number): bigint {
  assert(Number.isSafeInteger(value) && value >= 0, `${value} is a non-negative safe integer`);
  return BigInt(value);
}

function fromU64(body: Buffer, at: number): number | undefined {
  const value = body.readBigUInt64LE(at);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}
