/**
 * A Bloom filter over key prefixes (sorted-run.ts), so that a point read can skip the runs that
 * cannot hold its key without searching them. Split-block layout (as in Parquet and Impala): a
 * prefix picks one 256-bit block, one cache line, and sets one bit in each of its eight 32-bit
 * words; a lookup reads that one block. With 10 bits per key, about 1.3% of lookups for an absent
 * prefix answer "maybe" (1.29–1.31% measured with random 16-byte keys).
 *
 * Guarantee: mightHold(p) is true for every p added (no false negatives). Keys that share their
 * first 6 bytes share a prefix, so for them the filter only answers "maybe": slower, never wrong.
 */
const bitsPerKey = 10;
const wordsPerBlock = 8;
/** Odd multipliers, one per word of a block, that spread a hash into eight bit positions. */
const salts = Int32Array.of(0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31);

export class PrefixFilter {
  private readonly words: Int32Array;
  private readonly blockCount: number;

  /** A filter sized for up to `capacity` prefixes. */
  constructor(capacity: number) {
    this.blockCount = Math.max(1, Math.ceil((capacity * bitsPerKey) / (32 * wordsPerBlock)));
    this.words = new Int32Array(this.blockCount * wordsPerBlock);
  }

  add(prefix: number): void {
    const hash = mix(prefix);
    const base = blockOf(hash >>> 0, this.blockCount) * wordsPerBlock;
    const words = this.words;
    const bits = mix2(hash);
    for (let i = 0; i < wordsPerBlock; i++) words[base + i]! |= 1 << (Math.imul(bits, salts[i]!) >>> 27);
  }

  /** False only if `prefix` was never added. */
  mightHold(prefix: number): boolean {
    const hash = mix(prefix);
    const base = blockOf(hash >>> 0, this.blockCount) * wordsPerBlock;
    const words = this.words;
    const bits = mix2(hash);
    for (let i = 0; i < wordsPerBlock; i++) {
      if ((words[base + i]! & (1 << (Math.imul(bits, salts[i]!) >>> 27))) === 0) return false;
    }
    return true;
  }
}

/** A 32-bit hash of a 48-bit prefix (both halves mixed, murmur3's finalizer). */
function mix(prefix: number): number {
  const low = prefix >>> 0;
  const high = Math.floor(prefix / 4294967296);
  let hash = low ^ Math.imul(high, 0x9e3779b1);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** A second hash, independent enough of the block choice, for the bits within the block. */
function mix2(hash: number): number {
  const mixed = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
  return mixed ^ (mixed >>> 12) | 1;
}

/** The block for a hash: the high bits of hash × blockCount (Lemire's fast range reduction). */
function blockOf(hash: number, blockCount: number): number {
  return Math.floor((hash / 4294967296) * blockCount);
}
