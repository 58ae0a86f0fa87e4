/**
 * The storage seam. Every byte Carve must keep goes through `Storage`, an async interface
 * shaped like node:fs/promises. NodeStorage implements it on the real disk, SimStorage in a
 * simulated page cache, device cache and media; system code cannot tell them apart.
 *
 * Paths are relative to the storage root, '/'-separated ('' or '.' is the root itself).
 * Nothing is durable until a sync says so: `FileHandle.sync` persists a file's data and
 * metadata, `Storage.syncDir` persists a directory's entries (creations, renames, unlinks).
 * `FileHandle.tryLock` is the one thing that is not about bytes: an advisory lock between
 * handles, which a crash releases.
 */

/** How a file is opened; the same strings node:fs uses. */
export type OpenFlags = 'r' | 'r+' | 'w' | 'w+' | 'wx' | 'wx+' | 'a' | 'a+' | 'ax' | 'ax+';

export const openFlagValues: readonly OpenFlags[] = ['r', 'r+', 'w', 'w+', 'wx', 'wx+', 'a', 'a+', 'ax', 'ax+'];

export interface FileStat {
  readonly kind: 'file' | 'directory';
  readonly sizeBytes: number;
  /** Permission bits only (0o000 to 0o777). */
  readonly mode: number;
}

/** How a file is opened, beyond its flags. */
export interface OpenOptions {
  /**
   * O_DSYNC: every write and append returns only once its data, and the metadata needed to read
   * it back (the size), are durable, as if each were followed by `datasync()`. If that sync
   * fails, the write fails (EIO), with the same Linux semantics as a failed `datasync()`.
   */
  readonly dsync?: boolean;
}

export interface FileHandle {
  /** The storage-relative path the handle was opened with. */
  readonly path: string;
  readonly flags: OpenFlags;
  /** Opened with `dsync` (O_DSYNC): each write is durable when it returns. */
  readonly dsync: boolean;
  /**
   * Writes all of `data` at `positionBytes`; returns the number of bytes written. Not for append
   * handles. `data` is not kept once the promise settles: the caller may reuse it then.
   */
  write(data: Uint8Array, positionBytes: number): Promise<number>;
  /** Appends all of `data` at the end of the file (atomically positioned for 'a' handles, O_APPEND). */
  append(data: Uint8Array): Promise<number>;
  /** Reads up to `lengthBytes` from `positionBytes`; shorter at end of file. */
  read(lengthBytes: number, positionBytes: number): Promise<Uint8Array>;
  truncate(sizeBytes: number): Promise<void>;
  /** fsync: data and all metadata of this file. Does not persist its directory entry. */
  sync(): Promise<void>;
  /** fdatasync: data and the metadata needed to read it back (size), not the mode. */
  datasync(): Promise<void>;
  stat(): Promise<FileStat>;
  /**
   * Takes an exclusive advisory lock on the whole file for this handle unless another handle
   * holds one, in this process or another: true once held (also if this handle held it already),
   * false if another handle holds it. The lock belongs to the handle (on Linux an open file
   * description lock, F_OFD_SETLK), not to the path or the process: it ends when the handle is
   * closed or its process dies, so a crash never leaves one behind. The handle must be writable
   * (EBADF otherwise). Nothing is written: the lock is never durable.
   */
  tryLock(): Promise<boolean>;
  close(): Promise<void>;
}

export interface Storage {
  /** A short description for reports, e.g. "node:/tmp/x" or "sim:posix-weak". */
  readonly description: string;
  /**
   * A process-wide name for the place `path` denotes: equal for two Storage values that reach
   * the same file (e.g. two NodeStorages on one directory), distinct otherwise. For what a
   * process remembers about a file across Storage values (kv/log-file.ts, failedLogs).
   */
  locationOf(path: string): string;
  /**
   * The id of the process using this storage, for what a store records about its holder (the
   * pid a LOCK file names): process.pid on a real disk; in a simulation a number of the
   * simulated world, so that a simulated run does not depend on the host's pid.
   */
  readonly processId: number;
  open(path: string, flags: OpenFlags, mode?: number, options?: OpenOptions): Promise<FileHandle>;
  rename(fromPath: string, toPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, mode?: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Entry names, sorted. */
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<FileStat>;
  chmod(path: string, mode: number): Promise<void>;
  /** fsync on the directory itself: persists the entries created, renamed or removed in it. */
  syncDir(path: string): Promise<void>;
}

export const defaultFileMode = 0o644;
export const defaultDirectoryMode = 0o755;

export function isReadable(flags: OpenFlags): boolean {
  return flags === 'r' || flags.endsWith('+');
}

export function isWritable(flags: OpenFlags): boolean {
  return flags !== 'r';
}

export function isAppendMode(flags: OpenFlags): boolean {
  return flags.startsWith('a');
}

export function createsFile(flags: OpenFlags): boolean {
  return flags.startsWith('w') || flags.startsWith('a');
}

export function isExclusive(flags: OpenFlags): boolean {
  return flags.includes('x');
}

export function truncatesFile(flags: OpenFlags): boolean {
  return flags.startsWith('w');
}
