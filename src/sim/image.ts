/**
 * A file-system image: inodes (files with bytes, size and mode; directories with entries),
 * reached from the root inode. The simulator keeps one image for what the page cache shows
 * (live) and derives crash states as images of what reached the media.
 *
 * Images fork copy-on-write at inode granularity: `fork()` is O(inodes) and shares every inode
 * until one side changes it. Invariant: a file's bytes at and beyond its size are zero in the
 * live image; crash images are normalised to that before anything reads them.
 */
import { createHash, hash } from 'node:crypto';
import { assert } from '../errors.js';

export type InodeKind = 'file' | 'directory';

export interface Inode {
  readonly kind: InodeKind;
  mode: number;
  sizeBytes: number;
  /** File bytes; may be longer than sizeBytes (capacity), never shorter. */
  data: Uint8Array;
  /** Directory entries: name → inode number. */
  entries: Map<string, number>;
}

export interface InodeInit {
  readonly kind: InodeKind;
  readonly mode: number;
}

export const rootInodeNumber = 1;

export class Image {
  private readonly inodes: Map<number, Inode>;
  /** Inodes this image may change in place; the others are shared with forks. */
  private readonly owned: Set<number>;

  private constructor(inodes: Map<number, Inode>, owned: Set<number>) {
    this.inodes = inodes;
    this.owned = owned;
  }

  static empty(rootMode = 0o755): Image {
    const image = new Image(new Map(), new Set());
    image.inodes.set(rootInodeNumber, newInode({ kind: 'directory', mode: rootMode }));
    image.owned.add(rootInodeNumber);
    return image;
  }

  fork(): Image {
    this.owned.clear(); // From now on both sides copy before changing.
    return new Image(new Map(this.inodes), new Set());
  }

  has(ino: number): boolean {
    return this.inodes.has(ino);
  }

  /** Read access; callers must not mutate the result. */
  get(ino: number): Inode | undefined {
    return this.inodes.get(ino);
  }

  /** Write access: copies a shared inode first. Every change goes through here. */
  mutable(ino: number): Inode {
    const inode = this.inodes.get(ino);
    assert(inode !== undefined, `inode ${ino} exists`);
    if (this.owned.has(ino)) {
      contentHashes.delete(inode); // The caller is about to change it.
      return inode;
    }
    const copy: Inode = {
      kind: inode.kind,
      mode: inode.mode,
      sizeBytes: inode.sizeBytes,
      data: inode.kind === 'file' ? inode.data.slice() : inode.data,
      entries: inode.kind === 'directory' ? new Map(inode.entries) : inode.entries,
    };
    this.inodes.set(ino, copy);
    this.owned.add(ino);
    return copy;
  }

  /** Creates the inode if it does not exist yet; never resets an existing one. */
  ensure(ino: number, init: InodeInit): Inode {
    if (!this.inodes.has(ino)) {
      this.inodes.set(ino, newInode(init));
      this.owned.add(ino);
    }
    return this.mutable(ino);
  }

  remove(ino: number): void {
    this.inodes.delete(ino);
    this.owned.delete(ino);
  }

  /** Looks a name up in a directory inode. */
  lookup(dirIno: number, name: string): number | undefined {
    const dir = this.inodes.get(dirIno);
    if (dir === undefined || dir.kind !== 'directory') return undefined;
    return dir.entries.get(name);
  }

  /** Resolves path components from the root; undefined if any is missing or not a directory. */
  resolve(components: readonly string[]): number | undefined {
    let ino = rootInodeNumber;
    for (const name of components) {
      const next = this.lookup(ino, name);
      if (next === undefined) return undefined;
      ino = next;
    }
    return ino;
  }

  /** Zeroes bytes at and beyond each file's size and drops excess capacity. */
  normalize(): void {
    for (const [ino, inode] of this.inodes) {
      if (inode.kind !== 'file') continue;
      if (inode.data.length === inode.sizeBytes) continue;
      const file = this.mutable(ino);
      const data = new Uint8Array(file.sizeBytes);
      data.set(file.data.subarray(0, Math.min(file.sizeBytes, file.data.length)));
      file.data = data;
    }
  }

  /** Every reachable path, depth first in name order, with its inode. Unreachable inodes are omitted. */
  walk(): Array<{ path: string; ino: number; inode: Inode }> {
    const out: Array<{ path: string; ino: number; inode: Inode }> = [];
    const visit = (dirIno: number, prefix: string, depth: number): void => {
      assert(depth < 256, 'directory tree is acyclic');
      const dir = this.inodes.get(dirIno);
      if (dir === undefined || dir.kind !== 'directory') return;
      for (const name of [...dir.entries.keys()].sort()) {
        const ino = dir.entries.get(name)!;
        const inode = this.inodes.get(ino);
        if (inode === undefined) continue; // An entry whose inode never reached the media reads as missing.
        const path = prefix === '' ? name : `${prefix}/${name}`;
        out.push({ path, ino, inode });
        if (inode.kind === 'directory') visit(ino, path, depth + 1);
      }
    };
    visit(rootInodeNumber, '', 0);
    return out;
  }

  /** A content hash of the reachable tree: names, kinds, modes, sizes and bytes. */
  contentHash(): string {
    const hash = createHash('sha1');
    for (const { path, inode } of this.walk()) {
      hash.update(`${path}\0${inode.kind}\0${inode.mode}\0${inode.sizeBytes}\0`);
      if (inode.kind === 'file') hash.update(fileContentHash(inode));
    }
    const root = this.inodes.get(rootInodeNumber);
    hash.update(`root\0${root?.mode ?? 0}`);
    return hash.digest('hex');
  }
}

/**
 * Content digests of inodes, valid until the inode is handed out by mutable(). Forks share
 * inodes, so most files of a crash image keep the digest of the image they came from.
 */
const contentHashes = new WeakMap<Inode, string>();

function fileContentHash(inode: Inode): string {
  let digest = contentHashes.get(inode);
  if (digest === undefined) {
    digest = hash('sha1', inode.data.subarray(0, Math.min(inode.sizeBytes, inode.data.length)), 'hex');
    contentHashes.set(inode, digest);
  }
  return digest;
}

function newInode(init: InodeInit): Inode {
  return { kind: init.kind, mode: init.mode, sizeBytes: 0, data: new Uint8Array(0), entries: new Map() };
}

/** Grows a file's buffer to hold `endBytes`, keeping content; amortised doubling. */
export function ensureCapacity(inode: Inode, endBytes: number): void {
  if (inode.data.length >= endBytes) return;
  const grown = new Uint8Array(Math.max(endBytes, Math.min(inode.data.length * 2, endBytes + (1 << 20))));
  grown.set(inode.data);
  inode.data = grown;
}
