/**
 * NodeStorage: the Storage interface on the real disk through node:fs/promises.
 * Guarantees: every path resolves inside the root (including through symlinks in parent
 * directories); sync is fsync(2), datasync is fdatasync(2), syncDir opens the directory and
 * fsyncs it; append handles use O_APPEND, so each append lands whole at the end of the file;
 * tryLock is an open file description lock (fcntl F_OFD_SETLK on Linux, flock on macOS,
 * LockFileEx on Windows), through the fs-native-extensions addon, loaded on first use.
 * Errors are CarveErrors carrying the storage-relative path.
 */
import { constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { CarveError, ErrorCodes, assert, fromSystemError, messageOf } from '../errors.js';
import { checkMode, checkNonNegativeInteger, normalizePath, pathComponents } from './paths.js';
import {
  type FileHandle,
  type FileStat,
  type OpenFlags,
  type OpenOptions,
  type Storage,
  defaultDirectoryMode,
  defaultFileMode,
  isAppendMode,
  isReadable,
  isWritable,
  openFlagValues,
} from './storage.js';

export class NodeStorage implements Storage {
  readonly rootPath: string;
  readonly description: string;
  readonly processId = process.pid;

  private constructor(rootPath: string) {
    this.rootPath = rootPath;
    this.description = `node:${rootPath}`;
  }

  locationOf(path: string): string {
    return `node:${nodePath.join(this.rootPath, ...pathComponents(path))}`;
  }

  /** Opens a storage rooted at an existing directory (created if `create` is set). */
  static async open(rootPath: string, options: { create?: boolean } = {}): Promise<NodeStorage> {
    const absolute = nodePath.resolve(rootPath);
    if (options.create === true) await fs.mkdir(absolute, { recursive: true });
    let real: string;
    try {
      real = await fs.realpath(absolute);
      const stat = await fs.stat(real);
      if (!stat.isDirectory()) throw new CarveError(ErrorCodes.ENOTDIR, 'storage root is not a directory', { path: rootPath });
    } catch (error) {
      throw fromSystemError(error, rootPath);
    }
    return new NodeStorage(real);
  }

  /**
   * The absolute path for a storage-relative one, checked to stay under the root. With
   * `followsLast`, the operation follows a symlink in the last component too, so the whole
   * path's real location is checked; otherwise only the parent's.
   */
  private async resolve(path: string, followsLast = false): Promise<string> {
    const components = pathComponents(path);
    const absolute = nodePath.join(this.rootPath, ...components);
    if (components.length === 0) return absolute;
    const checked = followsLast ? await existingRealPath(absolute) : undefined;
    if (checked !== undefined) this.checkInsideRoot(checked, path);
    else this.checkInsideRoot(await existingRealPath(nodePath.dirname(absolute)), path);
    return absolute;
  }

  private checkInsideRoot(realPath: string | undefined, path: string): void {
    if (realPath === undefined) return; // Missing: the operation itself fails with ENOENT.
    if (realPath !== this.rootPath && !realPath.startsWith(this.rootPath + nodePath.sep)) {
      throw new CarveError(ErrorCodes.PATH_OUTSIDE_ROOT, 'path leads out of the storage root through a link', { path });
    }
  }

  async open(path: string, flags: OpenFlags, mode: number = defaultFileMode, options: OpenOptions = {}): Promise<FileHandle> {
    if (!openFlagValues.includes(flags)) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `unknown open flags '${String(flags)}'`, { path });
    }
    checkMode(mode, path);
    const absolute = await this.resolve(path, true);
    try {
      // O_NOFOLLOW: a symlink still in the last component (dangling, or swapped in since the
      // check) is refused with ELOOP, so it cannot lead out.
      const dsync = options.dsync === true;
      const handle = await fs.open(absolute, openFlagBits[flags] | fsConstants.O_NOFOLLOW | (dsync ? fsConstants.O_DSYNC : 0), mode);
      return new NodeFileHandle(handle, normalizePath(path), flags, dsync);
    } catch (error) {
      throw fromSystemError(error, path);
    }
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    const from = await this.resolve(fromPath);
    const to = await this.resolve(toPath);
    this.refuseRoot(fromPath);
    this.refuseRoot(toPath);
    await wrap(fromPath, () => fs.rename(from, to));
  }

  async unlink(path: string): Promise<void> {
    const absolute = await this.resolve(path);
    await wrap(path, () => fs.unlink(absolute));
  }

  async mkdir(path: string, mode: number = defaultDirectoryMode): Promise<void> {
    checkMode(mode, path);
    const absolute = await this.resolve(path);
    this.refuseRoot(path, ErrorCodes.EEXIST);
    await wrap(path, () => fs.mkdir(absolute, { mode }));
  }

  async rmdir(path: string): Promise<void> {
    const absolute = await this.resolve(path);
    this.refuseRoot(path, ErrorCodes.EBUSY);
    await wrap(path, () => fs.rmdir(absolute));
  }

  async readdir(path: string): Promise<string[]> {
    const absolute = await this.resolve(path, true);
    const names = await wrap(path, () => fs.readdir(absolute));
    return names.sort();
  }

  async stat(path: string): Promise<FileStat> {
    const absolute = await this.resolve(path, true);
    return toFileStat(await wrap(path, () => fs.stat(absolute)), path);
  }

  async chmod(path: string, mode: number): Promise<void> {
    checkMode(mode, path);
    const absolute = await this.resolve(path, true);
    await wrap(path, () => fs.chmod(absolute, mode));
  }

  async syncDir(path: string): Promise<void> {
    const absolute = await this.resolve(path, true);
    await wrap(path, async () => {
      const handle = await fs.open(absolute, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  private refuseRoot(path: string, code: typeof ErrorCodes.EBUSY | typeof ErrorCodes.EEXIST = ErrorCodes.EBUSY): void {
    if (pathComponents(path).length === 0) throw new CarveError(code, 'the storage root itself cannot be changed', { path });
  }
}

class NodeFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly path: string,
    readonly flags: OpenFlags,
    readonly dsync: boolean,
  ) {}

  async write(data: Uint8Array, positionBytes: number): Promise<number> {
    this.checkOpen();
    checkNonNegativeInteger(positionBytes, 'position', this.path);
    if (isAppendMode(this.flags)) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'positional write on an append-mode handle; use append()', {
        path: this.path,
      });
    }
    this.checkWritable();
    return this.writeFully(data, positionBytes);
  }

  async append(data: Uint8Array): Promise<number> {
    this.checkOpen();
    this.checkWritable();
    if (isAppendMode(this.flags)) {
      // O_APPEND: one write call, positioned at the end by the kernel.
      const { bytesWritten } = await wrap(this.path, () => this.handle.write(data, 0, data.length, null));
      assert(bytesWritten === data.length, `short O_APPEND write of ${bytesWritten}/${data.length} bytes`);
      return bytesWritten;
    }
    const { size } = await wrap(this.path, () => this.handle.stat());
    return this.writeFully(data, size);
  }

  private async writeFully(data: Uint8Array, positionBytes: number): Promise<number> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await wrap(this.path, () =>
        this.handle.write(data, written, data.length - written, positionBytes + written),
      );
      assert(bytesWritten > 0, 'write made no progress');
      written += bytesWritten;
    }
    return written;
  }

  async read(lengthBytes: number, positionBytes: number): Promise<Uint8Array> {
    this.checkOpen();
    checkNonNegativeInteger(lengthBytes, 'length', this.path);
    checkNonNegativeInteger(positionBytes, 'position', this.path);
    if (!isReadable(this.flags)) throw new CarveError(ErrorCodes.EBADF, 'handle is not open for reading', { path: this.path });
    const buffer = new Uint8Array(lengthBytes);
    let filled = 0;
    while (filled < lengthBytes) {
      const { bytesRead } = await wrap(this.path, () =>
        this.handle.read(buffer, filled, lengthBytes - filled, positionBytes + filled),
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === lengthBytes ? buffer : buffer.slice(0, filled);
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.checkOpen();
    checkNonNegativeInteger(sizeBytes, 'size', this.path);
    this.checkWritable();
    await wrap(this.path, () => this.handle.truncate(sizeBytes));
  }

  async sync(): Promise<void> {
    this.checkOpen();
    await wrap(this.path, () => this.handle.sync());
  }

  async datasync(): Promise<void> {
    this.checkOpen();
    await wrap(this.path, () => this.handle.datasync());
  }

  async stat(): Promise<FileStat> {
    this.checkOpen();
    return toFileStat(await wrap(this.path, () => this.handle.stat()), this.path);
  }

  async tryLock(): Promise<boolean> {
    this.checkOpen();
    this.checkWritable();
    const { tryLock } = nativeLocks(this.path);
    try {
      return tryLock(this.handle.fd);
    } catch (error) {
      throw fromSystemError(error, this.path);
    }
  }

  async close(): Promise<void> {
    this.checkOpen();
    this.closed = true;
    await wrap(this.path, () => this.handle.close());
  }

  private checkOpen(): void {
    if (this.closed) throw new CarveError(ErrorCodes.HANDLE_CLOSED, 'file handle is closed', { path: this.path });
  }

  private checkWritable(): void {
    if (!isWritable(this.flags)) throw new CarveError(ErrorCodes.EBADF, 'handle is not open for writing', { path: this.path });
  }
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_EXCL, O_APPEND } = fsConstants;

const openFlagBits: Readonly<Record<OpenFlags, number>> = {
  r: O_RDONLY,
  'r+': O_RDWR,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  'w+': O_RDWR | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_TRUNC | O_EXCL,
  'wx+': O_RDWR | O_CREAT | O_TRUNC | O_EXCL,
  a: O_WRONLY | O_CREAT | O_APPEND,
  'a+': O_RDWR | O_CREAT | O_APPEND,
  ax: O_WRONLY | O_CREAT | O_APPEND | O_EXCL,
  'ax+': O_RDWR | O_CREAT | O_APPEND | O_EXCL,
};

async function existingRealPath(absolute: string): Promise<string | undefined> {
  try {
    return await fs.realpath(absolute);
  } catch {
    return undefined;
  }
}

function toFileStat(stat: { size: number; mode: number; isDirectory(): boolean; isFile(): boolean }, path: string): FileStat {
  if (!stat.isDirectory() && !stat.isFile()) {
    throw new CarveError(ErrorCodes.EINVAL, 'neither a regular file nor a directory', { path });
  }
  return {
    kind: stat.isDirectory() ? 'directory' : 'file',
    sizeBytes: stat.isDirectory() ? 0 : stat.size,
    mode: stat.mode & 0o777,
  };
}

interface NativeLocks {
  /** An exclusive lock on the whole file: false if another open file description holds one. */
  tryLock(fd: number): boolean;
}

/** The addon, once loaded. */
let nativeLocksLoaded: NativeLocks | undefined;

/**
 * The lock addon, loaded on first use; E_LOCKS_UNSUPPORTED if it cannot be (no build for this
 * platform). A failed load is not remembered: the next call tries again, so a transient failure
 * (EMFILE while opening the addon's file) fails one open, not every later one.
 */
function nativeLocks(path: string): NativeLocks {
  if (nativeLocksLoaded !== undefined) return nativeLocksLoaded;
  try {
    nativeLocksLoaded = createRequire(import.meta.url)('fs-native-extensions') as NativeLocks;
    return nativeLocksLoaded;
  } catch (failure) {
    throw new CarveError(ErrorCodes.LOCKS_UNSUPPORTED, `file locks are not available: the fs-native-extensions addon did not load on ${process.platform}-${process.arch} (${innermostMessageOf(failure)})`, {
      path,
      cause: failure,
    });
  }
}

/**
 * The error's message and, when it wraps others, the innermost one's (a cycle of causes ends the
 * walk): the addon's loader reports a failed dlopen as "Cannot load addon", with the system's
 * reason (EMFILE, a missing library) only in its cause.
 */
function innermostMessageOf(error: unknown): string {
  const seen = new Set<unknown>([error]);
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined && !seen.has(inner.cause)) {
    inner = inner.cause;
    seen.add(inner);
  }
  return inner === error ? messageOf(error) : `${messageOf(error)}: ${messageOf(inner)}`;
}

async function wrap<T>(path: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw fromSystemError(error, path);
  }
}
