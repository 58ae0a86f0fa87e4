/**
 * Effects: the micro-operations a storage operation leaves in the volatile layers, each of
 * which a crash may keep or lose as a unit. An effect holds one or more actions applied
 * together (a rename on a journaling file system is one effect; on the weak model it is
 * three). Applying effects to an image in issue order yields a crash state.
 */
import { assert } from '../errors.js';
import { type Image, type InodeInit, ensureCapacity } from './image.js';
import { Prng } from './prng.js';

/** The classes a persistence profile orders by. */
export type EffectClass = 'overwrite' | 'append' | 'size' | 'mode' | 'entry';

export const effectClasses: readonly EffectClass[] = ['overwrite', 'append', 'size', 'mode', 'entry'];
export const metadataClasses: readonly EffectClass[] = ['size', 'mode', 'entry'];

export type Action =
  /** Bytes into a file's buffer; does not change its size. */
  | { readonly type: 'write'; readonly ino: number; readonly offsetBytes: number; readonly data: Uint8Array }
  /** Sets the size (zeroing what a shrink cuts off); with `growOnly`, never shrinks. */
  | { readonly type: 'size'; readonly ino: number; readonly sizeBytes: number; readonly growOnly: boolean }
  | { readonly type: 'mode'; readonly ino: number; readonly mode: number }
  /** Creates or replaces a directory entry; creates the inode with `init` if it is not there yet. */
  | { readonly type: 'link'; readonly dirIno: number; readonly name: string; readonly ino: number; readonly init: InodeInit }
  /** Removes a directory entry (which pointed to `ino` when issued). */
  | { readonly type: 'unlink'; readonly dirIno: number; readonly name: string; readonly ino: number };

/** How an effect may land if it lands: as written, or as garbage (stale or random bytes). */
export type Variant = 'data' | 'garbage';

export interface Effect {
  readonly id: number;
  /** Index of the storage operation that issued it. */
  readonly opIndex: number;
  readonly cls: EffectClass;
  readonly actions: readonly Action[];
  /** The inode whose data or metadata it changes (undefined for directory entries). */
  readonly ino: number | undefined;
  /** Directories whose entries it changes. */
  readonly dirInos: readonly number[];
  /** Inodes an entry effect links or unlinks. */
  readonly linkedInos: readonly number[];
  /** Earlier effects that must be on media whenever this one is (profile ordering). */
  readonly deps: readonly number[];
  readonly variants: readonly Variant[];
  /** A one-line description for traces. */
  readonly label: string;
}

/** Keys of the objects an effect touches; two effects conflict when their keys meet. */
export function effectKeys(effect: Effect): string[] {
  return effect.actions.map((action) =>
    action.type === 'link' || action.type === 'unlink' ? `e:${action.dirIno}/${action.name}` : `i:${action.ino}`,
  );
}

export type InodeInits = ReadonlyMap<number, InodeInit>;

/** Applies one effect to an image, in the chosen variant. */
export function applyEffect(image: Image, effect: Effect, variant: Variant, inits: InodeInits): void {
  assert(effect.variants.includes(variant), `effect ${effect.id} has variant ${variant}`);
  for (const action of effect.actions) applyAction(image, action, variant === 'garbage' ? effect.id : undefined, inits);
}

function applyAction(image: Image, action: Action, garbageSeed: number | undefined, inits: InodeInits): void {
  switch (action.type) {
    case 'write': {
      const inode = ensureInode(image, action.ino, inits);
      ensureCapacity(inode, action.offsetBytes + action.data.length);
      const bytes = garbageSeed === undefined ? action.data : garbageBytes(garbageSeed, action.data.length);
      inode.data.set(bytes, action.offsetBytes);
      return;
    }
    case 'size': {
      const inode = ensureInode(image, action.ino, inits);
      if (action.growOnly && action.sizeBytes <= inode.sizeBytes) return;
      if (action.sizeBytes < inode.sizeBytes) inode.data.fill(0, action.sizeBytes, inode.sizeBytes);
      ensureCapacity(inode, action.sizeBytes);
      inode.sizeBytes = action.sizeBytes;
      return;
    }
    case 'mode':
      ensureInode(image, action.ino, inits).mode = action.mode;
      return;
    case 'link': {
      image.ensure(action.ino, action.init);
      ensureInode(image, action.dirIno, inits).entries.set(action.name, action.ino);
      return;
    }
    case 'unlink': {
      if (!image.has(action.dirIno)) return;
      image.mutable(action.dirIno).entries.delete(action.name);
      return;
    }
  }
}

function ensureInode(image: Image, ino: number, inits: InodeInits) {
  const init = inits.get(ino);
  assert(init !== undefined, `inode ${ino} has a recorded init`);
  return image.ensure(ino, init);
}

/** Deterministic garbage for a torn chunk: what a crash may leave where data was due. */
export function garbageBytes(seed: number, lengthBytes: number): Uint8Array {
  const bytes = new Prng(0x6a7b + seed).fill(new Uint8Array(lengthBytes));
  // Never all zeros: garbage must be distinguishable from a zero-filled tail.
  if (lengthBytes > 0 && bytes.every((b) => b === 0)) bytes[0] = 0xa5;
  return bytes;
}
