/**
 * Frontier digests: the SHA-256 of a journal file's bytes [0, F), where every byte below F was
 * in the file before an fdatasync that completed. Those bytes are durable and never change
 * again (the file is append-only, and the header is only ever rewritten with identical bytes),
 * so a seal that commits to (F, digest) ties its writer's block to everything every other
 * writer had written before it: any later change, deletion, insertion or reordering there
 * breaks it.
 *
 * `digestsAt` computes many of them over a whole file in one pass (verification).
 * `FrontierHasher` keeps one incremental hash over a growing file for a writer, reading each
 * byte once: after the writer appends a block, `hashThroughOwnBlock` reads on from where it
 * stopped, finds the block where O_APPEND put it (its bytes are unique: writer id, seqs and
 * chain) and hashes through its end. The end of the writer's own block is its next frontier:
 * appends to one file are serialised, so every byte before the block was written before the
 * block's write returned, and the block's fdatasync makes all of it durable. Both hash raw
 * bytes, torn regions included, so they agree exactly.
 */
import { createHash } from 'node:crypto';
import { CarveError, ErrorCodes } from '../errors.js';
import type { FileHandle } from '../storage/storage.js';


/** Digest of [0, offset) for each offset within the file; offsets past the end are absent. */
export function digestsAt(file: Uint8Array, offsets: Iterable<number>): Map<number, Buffer> {
  const sorted = [...new Set(offsets)].filter((offset) => offset <= file.length).sort((a, b) => a - b);
  const hash = createHash('sha256');
  const digests = new Map<number, Buffer>();
  let hashedBytes = 0;
  for (const offset of sorted) {
    hash.update(file.subarray(hashedBytes, offset));
    hashedBytes = offset;
    digests.set(offset, hash.copy().digest());
  }
  return digests;
}

export class FrontierHasher {
  private readonly hash = createHash('sha256');
  private hashedBytes = 0;
  /** Other writers' bytes found before this writer's last block: the guess for the next read. */
  private othersBytes = 0;

  constructor(
    /** A handle open for reading on the journal file. */
    private readonly handle: FileHandle,
  ) {}

  /** The frontier: how far the file has been hashed. */
  get hashedUpToBytes(): number {
    return this.hashedBytes;
  }

  /** Feeds bytes already read from the file, starting exactly where hashing stopped. */
  feed(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.hashedBytes += bytes.length;
  }

  /** SHA-256 of the file's bytes [0, hashedUpToBytes). */
  digest(): Buffer {
    return this.hash.copy().digest();
  }

  /**
   * Reads on from the frontier until it finds `block` (just appended by this writer), hashes
   * through its end, and returns the block's offset. Fails with E_TRUNCATED if the file ends
   * first (it shrank), E_CORRUPT if the block is not there.
   */
  async hashThroughOwnBlock(block: Uint8Array): Promise<number> {
    const startBytes = this.hashedBytes;
    // Usually exactly what is there (a read past the end costs a second system call): this
    // block, after as much of other writers' data as came before the last one.
    let requestBytes = block.length + this.othersBytes;
    let window = Buffer.alloc(0);
    for (;;) {
      const more = await this.handle.read(requestBytes, startBytes + window.length);
      if (more.length === 0 && window.length === 0) {
        throw new CarveError(ErrorCodes.TRUNCATED, 'the journal shrank below what this writer had already read', {
          path: this.handle.path,
          offset: startBytes,
        });
      }
      window = Buffer.concat([window, more]);
      const at = window.indexOf(block);
      if (at >= 0) {
        this.feed(window.subarray(0, at + block.length));
        this.othersBytes = at;
        return startBytes + at;
      }
      // A short read is the end of the file, and the block was whole in it before this read began.
      if (more.length < requestBytes) {
        const { sizeBytes } = await this.handle.stat();
        if (sizeBytes - block.length < startBytes) {
          throw new CarveError(ErrorCodes.TRUNCATED, 'the journal shrank below what this writer had already read', {
            path: this.handle.path,
            offset: sizeBytes - block.length,
          });
        }
        throw new CarveError(ErrorCodes.CORRUPT, 'the block this writer just appended is not where O_APPEND must have put it', {
          path: this.handle.path,
          offset: startBytes,
        });
      }
      requestBytes = Math.max(block.length, window.length);
    }
  }
}
