/**
 * Checks every whole block's frontier commitment against the file as it is now: does the
 * SHA-256 of bytes [0, frontierBytes) still equal the digest the seal recorded? One pass over
 * the file, whatever the number of blocks.
 */
import { bytesEqual } from '../storage/files.js';
import type { SealedBlock } from './blocks.js';
import { digestsAt } from './frontier.js';

export interface FrontierCheck {
  readonly block: SealedBlock;
  readonly frontierBytes: number;
  readonly matches: boolean;
}

export function blockFrontierChecks(file: Uint8Array, blocks: readonly SealedBlock[]): FrontierCheck[] {
  const digests = digestsAt(
    file,
    blocks.map((block) => block.seal.frontierBytes),
  );
  return blocks.map((block) => {
    const digest = digests.get(block.seal.frontierBytes);
    return {
      block,
      frontierBytes: block.seal.frontierBytes,
      matches: digest !== undefined && bytesEqual(digest, block.seal.frontierDigest),
    };
  });
}
