/**
 * How a logical write or rename becomes effects under a profile: overwrites split at the
 * profile's atomic size, appends into chunks (with the size change apart where the profile
 * lets a size land without its data), renames into one effect or three. Pure functions of
 * the profile and the operation; the PersistenceModel adds the ordering.
 */
import type { Action, Effect, Variant } from './effects.js';
import type { InodeInit } from './image.js';
import type { EffectSpec } from './persistence.js';
import type { PersistenceProfile } from './profiles.js';

export const sectorBytes = 512;

interface WriteShape {
  readonly ino: number;
  readonly path: string;
  readonly positionBytes: number;
  readonly data: Uint8Array;
  /** The file's size before the write. */
  readonly oldSizeBytes: number;
  readonly torn: boolean;
}

/** Splits [start, end) at multiples of `granularity`. */
function alignedPieces(start: number, end: number, granularity: number): Array<[number, number]> {
  const pieces: Array<[number, number]> = [];
  let offset = start;
  while (offset < end) {
    const boundary = Number.isFinite(granularity) ? (Math.floor(offset / granularity) + 1) * granularity : end;
    const pieceEnd = Math.min(end, boundary);
    pieces.push([offset, pieceEnd]);
    offset = pieceEnd;
  }
  return pieces;
}

export function writeEffects(profile: PersistenceProfile, write: WriteShape): EffectSpec[] {
  const { ino, path, positionBytes, data, oldSizeBytes, torn } = write;
  const endBytes = positionBytes + data.length;
  const specs: EffectSpec[] = [];
  const slice = (from: number, to: number): Uint8Array => {
    // Bytes of the file's new content in [from, to): the hole before positionBytes reads as zeros.
    const out = new Uint8Array(to - from);
    const dataFrom = Math.max(from, positionBytes);
    if (dataFrom < to) out.set(data.subarray(dataFrom - positionBytes, to - positionBytes), dataFrom - from);
    return out;
  };

  const overwriteEnd = Math.min(endBytes, oldSizeBytes);
  if (positionBytes < overwriteEnd) {
    const granularity = torn ? Math.min(sectorBytes, profile.overwriteAtomicBytes) : profile.overwriteAtomicBytes;
    for (const [from, to] of alignedPieces(positionBytes, overwriteEnd, granularity)) {
      specs.push({
        cls: 'overwrite',
        ino,
        actions: [{ type: 'write', ino, offsetBytes: from, data: slice(from, to) }],
        label: `overwrite ${path} [${from}, ${to})`,
      });
    }
  }

  if (endBytes > oldSizeBytes) {
    const appendStart = oldSizeBytes;
    const chunkBytes = torn ? Math.min(sectorBytes, profile.append.chunkBytes) : profile.append.chunkBytes;
    const variants: Variant[] = profile.append.garbage ? ['data', 'garbage'] : ['data'];
    if (profile.append.sizeSeparate) {
      specs.push({
        cls: 'size',
        ino,
        actions: [{ type: 'size', ino, sizeBytes: endBytes, growOnly: false }],
        label: `size ${path} ${oldSizeBytes} -> ${endBytes}`,
      });
    }
    for (const [from, to] of alignedPieces(appendStart, endBytes, chunkBytes)) {
      const actions: Action[] = [{ type: 'write', ino, offsetBytes: from, data: slice(from, to) }];
      if (!profile.append.sizeSeparate) actions.push({ type: 'size', ino, sizeBytes: to, growOnly: true });
      specs.push({ cls: 'append', ino, actions, variants, label: `append ${path} [${from}, ${to})` });
    }
  }
  return specs;
}

interface RenameShape {
  readonly fromDirIno: number;
  readonly fromName: string;
  readonly toDirIno: number;
  readonly toName: string;
  readonly ino: number;
  readonly init: InodeInit;
  /** The inode the destination named before, if any. */
  readonly replacedIno: number | undefined;
  readonly fromPath: string;
  readonly toPath: string;
  /** Effects the rename must land after (replace heuristics). */
  readonly forcedDeps: readonly Effect[];
}

export function renameEffects(profile: PersistenceProfile, rename: RenameShape): EffectSpec[] {
  const { fromDirIno, fromName, toDirIno, toName, ino, init, replacedIno, fromPath, toPath } = rename;
  const extraDeps = rename.forcedDeps.map((effect) => effect.id);
  const deleteDestination: Action | undefined =
    replacedIno === undefined ? undefined : { type: 'unlink', dirIno: toDirIno, name: toName, ino: replacedIno };
  const deleteSource: Action = { type: 'unlink', dirIno: fromDirIno, name: fromName, ino };
  const createDestination: Action = { type: 'link', dirIno: toDirIno, name: toName, ino, init };
  const linked = replacedIno === undefined ? [ino] : [ino, replacedIno];
  if (profile.renameAtomic) {
    return [
      {
        cls: 'entry',
        actions: [...(deleteDestination === undefined ? [] : [deleteDestination]), createDestination, deleteSource],
        dirInos: [...new Set([fromDirIno, toDirIno])],
        linkedInos: linked,
        label: `rename ${fromPath} -> ${toPath}`,
        extraDeps,
      },
    ];
  }
  // The weak model: three independent micro-operations (delete the destination, delete the
  // source, create the destination), so a crash may keep any subset of them.
  const specs: EffectSpec[] = [];
  if (deleteDestination !== undefined) {
    specs.push({
      cls: 'entry',
      actions: [deleteDestination],
      dirInos: [toDirIno],
      linkedInos: [replacedIno!],
      label: `rename ${fromPath} -> ${toPath}: delete destination entry`,
      extraDeps,
    });
  }
  specs.push({
    cls: 'entry',
    actions: [deleteSource],
    dirInos: [fromDirIno],
    linkedInos: [ino],
    label: `rename ${fromPath} -> ${toPath}: delete source entry`,
    extraDeps,
  });
  specs.push({
    cls: 'entry',
    actions: [createDestination],
    dirInos: [toDirIno],
    linkedInos: [ino],
    label: `rename ${fromPath} -> ${toPath}: create destination entry`,
    extraDeps,
  });
  return specs;
}
