/**
 * Persistence profiles: what a crash may keep of unsynced work on a given file system, written
 * as data that SimStorage and the explorer interpret. Each field is one rule from the
 * literature (ALICE OSDI'14 Tables 1–3, ext4 documentation, ATC'20 on fsync failures).
 * Adding a profile is adding an object here; no branch elsewhere names a file system.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { type EffectClass, effectClasses, metadataClasses } from './effects.js';

export type ProfileName = 'posix-weak' | 'ext4-ordered' | 'ext4-writeback' | 'ext4-journal' | 'btrfs';

export interface PersistenceProfile {
  readonly name: string;
  readonly summary: string;
  /** Overwrites split into independently persisting pieces at this aligned size. */
  readonly overwriteAtomicBytes: number;
  readonly append: {
    /** Appends split into chunks of this aligned size. */
    readonly chunkBytes: number;
    /** The size change persists on its own, so a tail may read as zeros (or garbage). */
    readonly sizeSeparate: boolean;
    /** A chunk may land as garbage (stale blocks or random bytes). */
    readonly garbage: boolean;
  };
  /**
   * A rename is one effect; otherwise it splits into delete-destination, delete-source,
   * create-destination (ALICE's code), under which no replace protocol survives a crash
   * between the rename and the directory fsync.
   */
  readonly renameAtomic: boolean;
  /** [earlier, later]: an effect of class `later` lands only after every pending earlier effect of class `earlier`. */
  readonly orderedGlobally: ReadonlyArray<readonly [EffectClass, EffectClass]>;
  /** The same, only between effects on the same inode. */
  readonly orderedPerInode: ReadonlyArray<readonly [EffectClass, EffectClass]>;
  /**
   * What fsync of a file persists besides its own data and metadata:
   * 'inode' nothing else; 'inode-and-names' also the entries that link or unlink it;
   * 'journal-commit' every pending metadata effect of the whole file system.
   */
  readonly fileSync: 'inode' | 'inode-and-names' | 'journal-commit';
  /** What fsync of a directory persists: its own entries, or every pending metadata effect. */
  readonly dirSync: 'entries' | 'journal-commit';
  /**
   * Replace heuristics (ext4 auto_da_alloc, btrfs safe rename): a rename over an existing file
   * lands only with the source's data, and data written after a truncate to zero lands before
   * anything issued after the file is closed.
   */
  readonly replaceForcesData: boolean;
  /** After a failed fsync, the page cache keeps the new bytes, or reverts to what is on disk. */
  readonly eioPageContent: 'keep' | 'revert';
}

const all = effectClasses;
const pairs = (earlier: readonly EffectClass[], later: readonly EffectClass[]) =>
  earlier.flatMap((a) => later.map((b) => [a, b] as const));

export const profiles: Readonly<Record<ProfileName, PersistenceProfile>> = {
  'posix-weak': {
    name: 'posix-weak',
    summary: "ALICE's abstract persistence model: nothing unsynced is ordered; appends may land as zeros or garbage; overwrites tear at 512 B; entries need a directory fsync; a rename is atomic but not durable",
    overwriteAtomicBytes: 512,
    append: { chunkBytes: 4096, sizeSeparate: true, garbage: true },
    // Atomic, as on every journaling or copy-on-write file system (BOB, ALICE OSDI'14 §2).
    renameAtomic: true,
    orderedGlobally: [],
    orderedPerInode: [],
    fileSync: 'inode',
    dirSync: 'entries',
    replaceForcesData: false,
    eioPageContent: 'keep',
  },
  'ext4-ordered': {
    name: 'ext4-ordered',
    summary: 'ext4 data=ordered with delayed allocation and auto_da_alloc: metadata journaled in order; appends content-atomic but may land after later operations',
    overwriteAtomicBytes: 512,
    append: { chunkBytes: 4096, sizeSeparate: false, garbage: false },
    renameAtomic: true,
    orderedGlobally: [...pairs(metadataClasses, metadataClasses), ...pairs(metadataClasses, ['append'])],
    orderedPerInode: [['append', 'append']],
    fileSync: 'journal-commit',
    dirSync: 'journal-commit',
    replaceForcesData: true,
    eioPageContent: 'keep',
  },
  'ext4-writeback': {
    name: 'ext4-writeback',
    summary: 'ext4 data=writeback: metadata journaled in order, data unordered; a size may land before its data (zeros or stale blocks)',
    overwriteAtomicBytes: 512,
    append: { chunkBytes: 4096, sizeSeparate: true, garbage: true },
    renameAtomic: true,
    orderedGlobally: pairs(metadataClasses, metadataClasses),
    orderedPerInode: [],
    fileSync: 'journal-commit',
    dirSync: 'journal-commit',
    replaceForcesData: false,
    eioPageContent: 'keep',
  },
  'ext4-journal': {
    name: 'ext4-journal',
    summary: 'ext4 data=journal: every operation lands in issue order, 4 KiB blocks atomic',
    overwriteAtomicBytes: 4096,
    append: { chunkBytes: 4096, sizeSeparate: false, garbage: false },
    renameAtomic: true,
    orderedGlobally: pairs(all, all),
    orderedPerInode: [],
    fileSync: 'journal-commit',
    dirSync: 'journal-commit',
    replaceForcesData: true,
    eioPageContent: 'keep',
  },
  btrfs: {
    name: 'btrfs',
    summary: 'btrfs: copy-on-write 4 KiB blocks, safe rename, fsync persists the file and its names; directory operations and appends reorder freely; failed fsync reverts the page cache',
    overwriteAtomicBytes: 4096,
    append: { chunkBytes: 4096, sizeSeparate: false, garbage: false },
    renameAtomic: true,
    orderedGlobally: pairs(['overwrite'], all),
    orderedPerInode: pairs(all, all),
    fileSync: 'inode-and-names',
    dirSync: 'entries',
    replaceForcesData: true,
    eioPageContent: 'revert',
  },
};

export const profileNames = Object.keys(profiles) as ProfileName[];

export function getProfile(nameOrProfile: string | PersistenceProfile): PersistenceProfile {
  if (typeof nameOrProfile !== 'string') return nameOrProfile;
  const profile = (profiles as Record<string, PersistenceProfile>)[nameOrProfile];
  if (profile === undefined) {
    throw new CarveError(
      ErrorCodes.UNKNOWN_PROFILE,
      `unknown persistence profile '${nameOrProfile}'; known: ${profileNames.join(', ')}`,
    );
  }
  return profile;
}

/** An ordering table for fast lookup: ordered[earlier][later]. */
export type OrderingTable = Readonly<Record<EffectClass, ReadonlySet<EffectClass>>>;

export function orderingTable(rules: ReadonlyArray<readonly [EffectClass, EffectClass]>): OrderingTable {
  const table = Object.fromEntries(effectClasses.map((c) => [c, new Set<EffectClass>()])) as Record<
    EffectClass,
    Set<EffectClass>
  >;
  for (const [earlier, later] of rules) table[earlier].add(later);
  return table;
}
