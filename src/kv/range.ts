/**
 * Ordered range iteration over a snapshot of the index (latin1-string keys):
 * forward or reverse, with gt/gte/lt/lte bounds and a limit. The snapshot is immutable, so an
 * iteration sees exactly the state at the moment it was taken.
 */
import type { IndexView } from './lsm-index.js';
import { bytesToLatin1, latin1ToBytes } from './bytes.js';

export interface RangeOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
  /** At most this many entries; -1 or undefined for no limit. */
  limit?: number;
}

/** gte takes precedence over gt, and lte over lt, when both are given (as in abstract-level). */
export function* rangeEntries(index: IndexView, options: RangeOptions): Generator<[Uint8Array, Uint8Array]> {
  const gte = options.gte === undefined ? undefined : bytesToLatin1(options.gte);
  const gt = options.gt === undefined || gte !== undefined ? undefined : bytesToLatin1(options.gt);
  const lte = options.lte === undefined ? undefined : bytesToLatin1(options.lte);
  const lt = options.lt === undefined || lte !== undefined ? undefined : bytesToLatin1(options.lt);
  const limit = options.limit === undefined || options.limit < 0 ? Infinity : options.limit;
  const aboveLow = (key: string) => (gt === undefined || key > gt) && (gte === undefined || key >= gte);
  const belowHigh = (key: string) => (lt === undefined || key < lt) && (lte === undefined || key <= lte);
  let emitted = 0;
  if (emitted >= limit) return;
  if (options.reverse === true) {
    const start = lt ?? lte;
    for (const [key, value] of index.entriesReversed(start, lt !== undefined && lte === undefined)) {
      if (!belowHigh(key)) continue;
      if (!aboveLow(key)) return;
      yield [latin1ToBytes(key), latin1ToBytes(value)];
      if (++emitted >= limit) return;
    }
    return;
  }
  const start = gte ?? gt;
  for (const [key, value] of index.entries(start)) {
    if (!aboveLow(key)) continue;
    if (!belowHigh(key)) return;
    yield [latin1ToBytes(key), latin1ToBytes(value)];
    if (++emitted >= limit) return;
  }
}
