/**
 * SimStorage: the Storage interface on a simulated stack (page cache → device cache → media).
 * Reads see the page cache (the live image), exactly as on a real disk without a crash; every
 * change also becomes effects in the PersistenceModel, whose fate at a power cut the profile
 * decides. Errors match Linux's for the same calls. Faults: fsync EIO with Linux semantics
 * (reported once per open file, dirty pages marked clean and possibly lost), ENOSPC, torn writes.
 * File locks are held per handle, as Linux's open file description locks are, and are not part
 * of the image: a crash state starts with none.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { checkMode, checkNonNegativeInteger, normalizePath, pathComponents } from '../storage/paths.js';
import {
  type FileHandle,
  type FileStat,
  type OpenFlags,
  type OpenOptions,
  type Storage,
  createsFile,
  defaultDirectoryMode,
  defaultFileMode,
  isAppendMode,
  isExclusive,
  isReadable,
  isWritable,
  openFlagValues,
  truncatesFile,
} from '../storage/storage.js';
import { type Effect, metadataClasses } from './effects.js';
import { renameEffects, writeEffects } from './emit.js';
import type { History } from './history.js';
import { Image, type Inode, type InodeInit, ensureCapacity, rootInodeNumber } from './image.js';
import { type DeviceKind, type FaultPlan, deviceKinds } from './options.js';
import { PersistenceModel } from './persistence.js';
import { type PersistenceProfile, type ProfileName, getProfile } from './profiles.js';

export interface SimOptions {
  profile?: ProfileName | PersistenceProfile;
  device?: DeviceKind;
  faults?: FaultPlan;
  /** Applied to the modes of created files and directories, like the process umask (default 0o022). */
  umask?: number;
  /** Start from this media image (for example a crash state) instead of an empty file system. */
  image?: Image;
  /** The simulated process's id (Storage.processId; default 1). */
  processId?: number;
}

interface InodeState {
  /** Writeback errors seen on this inode (Linux errseq_t). */
  errorSeq: number;
  /** Truncated to zero: its next data lands before anything issued after close (replace heuristic). */
  forceDataOnClose: boolean;
}

let simInstances = 0;
const dataClasses = new Set(['overwrite', 'append', 'size']);
const metadata = new Set<string>(metadataClasses);

export class SimStorage implements Storage {
  readonly description: string;
  readonly profile: PersistenceProfile;
  readonly device: DeviceKind;
  readonly faults: FaultPlan;
  readonly processId: number;
  private readonly umask: number;
  private live: Image;
  private model: PersistenceModel;
  private readonly inits = new Map<number, InodeInit>();
  private readonly inodeStates = new Map<number, InodeState>();
  private nextIno: number;
  /** Open handles per inode: an unlinked file keeps its space while one is open. */
  private readonly openHandles = new Map<number, number>();
  /** The handle holding each locked inode's lock (FileHandle.tryLock); a crash, being a new SimStorage, holds none. */
  private readonly lockHolders = new Map<number, SimFileHandle>();
  private matchingSyncs = 0;
  private readonly instance = ++simInstances;

  constructor(options: SimOptions = {}) {
    this.profile = getProfile(options.profile ?? 'posix-weak');
    this.device = options.device ?? 'volatile-cache';
    if (!deviceKinds.includes(this.device)) {
      throw new CarveError(ErrorCodes.UNKNOWN_DEVICE, `unknown device '${String(this.device)}'; known: ${deviceKinds.join(', ')}`);
    }
    this.faults = options.faults ?? {};
    this.umask = options.umask ?? 0o022;
    this.processId = options.processId ?? 1;
    this.description = `sim:${this.profile.name}:${this.device}`;
    const media = options.image === undefined ? Image.empty() : options.image.fork();
    media.normalize();
    this.inits.set(rootInodeNumber, { kind: 'directory', mode: media.get(rootInodeNumber)?.mode ?? 0o755 });
    let maxIno = rootInodeNumber;
    for (const { ino, inode } of media.walk()) {
      this.inits.set(ino, { kind: inode.kind, mode: inode.mode });
      maxIno = Math.max(maxIno, ino);
    }
    this.nextIno = maxIno + 1;
    this.live = media.fork();
    this.model = new PersistenceModel(this.profile, this.device, this.faults, media, this.inits);
  }

  /** Each simulator is its own world: its files are reachable from it alone. */
  locationOf(path: string): string {
    return `sim#${this.instance}:${normalizePath(path)}`;
  }

  /** The record of everything since construction or the last settle(). */
  get history(): History {
    return this.model.history;
  }

  /** What the page cache shows now (a fork; changing it changes nothing here). */
  liveImage(): Image {
    return this.live.fork();
  }

  /** A clean shutdown: everything reaches the media, and recording starts afresh from there. */
  settle(): void {
    this.model = this.model.settle(this.live);
    this.live = this.live.fork();
  }

  /** Records that the workload told its user something (e.g. "saved"); crash checks see it. */
  acknowledge(label: string): void {
    this.model.history.acks.push({ afterOps: this.model.history.ops.length, label });
  }

  // ---- Storage ----

  async open(path: string, flags: OpenFlags, mode: number = defaultFileMode, options: OpenOptions = {}): Promise<FileHandle> {
    if (!openFlagValues.includes(flags)) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `unknown open flags '${String(flags)}'`, { path });
    }
    checkMode(mode, path);
    const components = pathComponents(path);
    const dsync = options.dsync === true;
    return this.operation('open', `open(${show(path)}, ${flags}${dsync ? ', O_DSYNC' : ''})`, path, () => {
      const existing = components.length === 0 ? rootInodeNumber : this.lookupIn(components, path);
      if (existing !== undefined) {
        if (createsFile(flags) && isExclusive(flags)) throw fsError(ErrorCodes.EEXIST, 'file already exists', path);
        const inode = this.inode(existing);
        if (inode.kind === 'directory') {
          if (isWritable(flags)) throw fsError(ErrorCodes.EISDIR, 'illegal operation on a directory', path);
          return this.newHandle(existing, path, flags, dsync);
        }
        if (truncatesFile(flags) && inode.sizeBytes > 0) this.truncateLive(existing, 0, path);
        return this.newHandle(existing, path, flags, dsync);
      }
      if (!createsFile(flags)) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
      const { dirIno, name } = this.parentOf(components, path);
      const ino = this.createInode(dirIno, name, { kind: 'file', mode: mode & ~this.umask }, path);
      return this.newHandle(ino, path, flags, dsync);
    });
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    const from = pathComponents(fromPath);
    const to = pathComponents(toPath);
    this.operation('rename', `rename(${show(fromPath)}, ${show(toPath)})`, fromPath, () => {
      if (from.length === 0 || to.length === 0) throw fsError(ErrorCodes.EBUSY, 'the storage root itself cannot be changed', fromPath);
      // Linux's order: both parents, the source, ancestry, then the kinds of the two names.
      const source = this.parentOf(from, fromPath);
      const target = this.parentOf(to, fromPath);
      const ino = this.live.lookup(source.dirIno, source.name);
      if (ino === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', fromPath);
      const replacedIno = this.live.lookup(target.dirIno, target.name);
      if (replacedIno === ino) return; // Both names are the same file: POSIX says do nothing.
      const moving = this.inode(ino);
      const isInside = (inner: readonly string[], outer: readonly string[]) =>
        inner.length > outer.length && outer.every((part, i) => inner[i] === part);
      if (moving.kind === 'directory' && isInside(to, from)) throw fsError(ErrorCodes.EINVAL, 'cannot move a directory into itself', fromPath);
      if (isInside(from, to)) throw fsError(ErrorCodes.ENOTEMPTY, 'directory not empty', fromPath);
      if (replacedIno !== undefined) {
        const replaced = this.inode(replacedIno);
        if (moving.kind === 'file' && replaced.kind === 'directory') throw fsError(ErrorCodes.EISDIR, 'illegal operation on a directory', fromPath);
        if (moving.kind === 'directory' && replaced.kind === 'file') throw fsError(ErrorCodes.ENOTDIR, 'not a directory', fromPath);
        if (replaced.kind === 'directory' && replaced.entries.size > 0) throw fsError(ErrorCodes.ENOTEMPTY, 'directory not empty', fromPath);
      }
      this.live.mutable(source.dirIno).entries.delete(source.name);
      this.live.mutable(target.dirIno).entries.set(target.name, ino);
      const replacesFile = replacedIno !== undefined && this.inode(replacedIno).kind === 'file';
      const forcedDeps = this.profile.replaceForcesData && replacesFile ? this.dirtyData(ino) : [];
      for (const spec of renameEffects(this.profile, {
        fromDirIno: source.dirIno,
        fromName: source.name,
        toDirIno: target.dirIno,
        toName: target.name,
        ino,
        init: this.inits.get(ino)!,
        replacedIno,
        fromPath: normalizePath(fromPath),
        toPath: normalizePath(toPath),
        forcedDeps,
      })) {
        this.model.issue(spec);
      }
    });
  }

  async unlink(path: string): Promise<void> {
    const components = pathComponents(path);
    this.operation('unlink', `unlink(${show(path)})`, path, () => {
      if (components.length === 0) throw fsError(ErrorCodes.EISDIR, 'illegal operation on a directory', path);
      const { dirIno, name } = this.parentOf(components, path);
      const ino = this.live.lookup(dirIno, name);
      if (ino === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
      if (this.inode(ino).kind === 'directory') throw fsError(ErrorCodes.EISDIR, 'illegal operation on a directory', path);
      this.removeEntry(dirIno, name, ino, `unlink ${normalizePath(path)}`);
    });
  }

  async mkdir(path: string, mode: number = defaultDirectoryMode): Promise<void> {
    checkMode(mode, path);
    const components = pathComponents(path);
    this.operation('mkdir', `mkdir(${show(path)})`, path, () => {
      if (components.length === 0) throw fsError(ErrorCodes.EEXIST, 'the storage root itself cannot be changed', path);
      const { dirIno, name } = this.parentOf(components, path);
      if (this.live.lookup(dirIno, name) !== undefined) throw fsError(ErrorCodes.EEXIST, 'file already exists', path);
      this.createInode(dirIno, name, { kind: 'directory', mode: mode & ~this.umask }, path);
    });
  }

  async rmdir(path: string): Promise<void> {
    const components = pathComponents(path);
    this.operation('rmdir', `rmdir(${show(path)})`, path, () => {
      if (components.length === 0) throw fsError(ErrorCodes.EBUSY, 'the storage root itself cannot be changed', path);
      const { dirIno, name } = this.parentOf(components, path);
      const ino = this.live.lookup(dirIno, name);
      if (ino === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
      const inode = this.inode(ino);
      if (inode.kind !== 'directory') throw fsError(ErrorCodes.ENOTDIR, 'not a directory', path);
      if (inode.entries.size > 0) throw fsError(ErrorCodes.ENOTEMPTY, 'directory not empty', path);
      this.removeEntry(dirIno, name, ino, `rmdir ${normalizePath(path)}`);
    });
  }

  async readdir(path: string): Promise<string[]> {
    const ino = this.resolveExisting(path);
    const inode = this.inode(ino);
    if (inode.kind !== 'directory') throw fsError(ErrorCodes.ENOTDIR, 'not a directory', path);
    return [...inode.entries.keys()].sort();
  }

  async stat(path: string): Promise<FileStat> {
    return statOf(this.inode(this.resolveExisting(path)));
  }

  async chmod(path: string, mode: number): Promise<void> {
    checkMode(mode, path);
    const components = pathComponents(path);
    this.operation('chmod', `chmod(${show(path)}, 0o${mode.toString(8)})`, path, () => {
      const ino = components.length === 0 ? rootInodeNumber : this.lookupIn(components, path);
      if (ino === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
      this.live.mutable(ino).mode = mode;
      this.model.issue({
        cls: 'mode',
        ino,
        actions: [{ type: 'mode', ino, mode }],
        label: `chmod ${normalizePath(path)} 0o${mode.toString(8)}`,
      });
    });
  }

  async syncDir(path: string): Promise<void> {
    const components = pathComponents(path);
    this.operation('syncDir', `fsync(dir ${show(path)})`, path, () => {
      const ino = components.length === 0 ? rootInodeNumber : this.lookupIn(components, path);
      if (ino === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
      if (this.inode(ino).kind !== 'directory') throw fsError(ErrorCodes.ENOTDIR, 'not a directory', path);
      this.persistDirectory(ino);
    });
  }

  // ---- File handle operations (called by SimFileHandle) ----

  writeAt(handle: SimFileHandle, data: Uint8Array, positionBytes: number): number {
    return this.operation('write', `write(${show(handle.path)}, ${data.length} B @ ${positionBytes})`, handle.path, () => {
      const inode = this.inode(handle.ino);
      const oldSizeBytes = inode.sizeBytes;
      if (data.length === 0) return 0;
      const endBytes = positionBytes + data.length;
      const growth = Math.max(0, endBytes - oldSizeBytes);
      this.checkCapacity(growth, handle.path);
      const file = this.live.mutable(handle.ino);
      ensureCapacity(file, endBytes);
      file.data.set(data, positionBytes);
      file.sizeBytes = Math.max(oldSizeBytes, endBytes);
      const torn = this.faults.tornWrites === true;
      for (const spec of writeEffects(this.profile, { ino: handle.ino, path: handle.path, positionBytes, data: data.slice(), oldSizeBytes, torn })) {
        this.model.issue(spec);
      }
      return data.length;
    });
  }

  statHandle(handle: SimFileHandle): FileStat {
    return statOf(this.inode(handle.ino));
  }

  sizeOf(handle: SimFileHandle): number {
    return this.inode(handle.ino).sizeBytes;
  }

  readAt(handle: SimFileHandle, lengthBytes: number, positionBytes: number): Uint8Array {
    const inode = this.inode(handle.ino);
    if (inode.kind === 'directory') throw fsError(ErrorCodes.EISDIR, 'illegal operation on a directory', handle.path);
    const end = Math.min(inode.sizeBytes, positionBytes + lengthBytes);
    return positionBytes >= end ? new Uint8Array(0) : inode.data.slice(positionBytes, end);
  }

  truncateHandle(handle: SimFileHandle, sizeBytes: number): void {
    this.operation('truncate', `ftruncate(${show(handle.path)}, ${sizeBytes})`, handle.path, () => {
      this.truncateLive(handle.ino, sizeBytes, handle.path);
    });
  }

  syncHandle(handle: SimFileHandle, dataOnly: boolean): void {
    const name = dataOnly ? 'fdatasync' : 'fsync';
    this.operation(name, `${name}(${show(handle.path)})`, handle.path, () => {
      const inode = this.inode(handle.ino);
      if (inode.kind === 'directory') {
        this.persistDirectory(handle.ino);
        return;
      }
      const state = this.state(handle.ino);
      if (this.syncFaultFires(handle.path)) {
        // Linux: the writeback error is reported once, and the dirty pages are marked clean.
        const lost = this.model.dirtyWhere((e) => e.ino === handle.ino);
        this.model.markClean(lost);
        state.errorSeq += 1;
        handle.seenErrorSeq = state.errorSeq;
        if (this.profile.eioPageContent === 'revert') this.revertToMedia(handle.ino);
        throw fsError(ErrorCodes.EIO, 'input/output error during writeback', handle.path);
      }
      if (state.errorSeq > handle.seenErrorSeq) {
        handle.seenErrorSeq = state.errorSeq;
        throw fsError(ErrorCodes.EIO, 'input/output error reported for an earlier writeback', handle.path);
      }
      const own = this.model.dirtyWhere((e) => e.ino === handle.ino && (!dataOnly || e.cls !== 'mode'));
      const extra =
        this.profile.fileSync === 'journal-commit'
          ? this.model.dirtyWhere((e) => metadata.has(e.cls))
          : this.profile.fileSync === 'inode-and-names'
            ? this.model.dirtyWhere((e) => e.cls === 'entry' && e.linkedInos.includes(handle.ino))
            : [];
      this.model.persist([...own, ...extra]);
    });
  }

  /** Not an operation: a lock changes nothing on disk, and a crash releases it. */
  tryLockHandle(handle: SimFileHandle): boolean {
    const holder = this.lockHolders.get(handle.ino);
    if (holder !== undefined && holder !== handle) return false;
    this.lockHolders.set(handle.ino, handle);
    return true;
  }

  closeHandle(handle: SimFileHandle): void {
    if (this.lockHolders.get(handle.ino) === handle) this.lockHolders.delete(handle.ino);
    this.operation('close', `close(${show(handle.path)})`, handle.path, () => {
      const open = (this.openHandles.get(handle.ino) ?? 1) - 1;
      if (open === 0) this.openHandles.delete(handle.ino);
      else this.openHandles.set(handle.ino, open);
      const state = this.state(handle.ino);
      if (!state.forceDataOnClose) return;
      state.forceDataOnClose = false;
      this.model.addBarriers(this.dirtyData(handle.ino));
    });
  }

  // ---- internals ----

  /** Runs one recorded operation; a thrown error is recorded as its outcome. */
  private operation<T>(name: string, call: string, path: string, body: () => T): T {
    const op = this.model.beginOp(name, call);
    try {
      return body();
    } catch (error) {
      op.outcome = error instanceof CarveError ? error.code : 'error';
      if (error instanceof CarveError) throw error;
      throw new CarveError(ErrorCodes.EIO, `simulator failure: ${String(error)}`, { path, cause: error });
    }
  }

  private persistDirectory(dirIno: number): void {
    const targets =
      this.profile.dirSync === 'journal-commit'
        ? this.model.dirtyWhere((e) => metadata.has(e.cls))
        : this.model.dirtyWhere((e) => e.cls === 'entry' && e.dirInos.includes(dirIno));
    this.model.persist(targets);
  }

  private dirtyData(ino: number): Effect[] {
    return this.model.dirtyWhere((e) => e.ino === ino && dataClasses.has(e.cls));
  }

  private syncFaultFires(path: string): boolean {
    const fault = this.faults.failSync;
    if (fault === undefined) return false;
    if (fault.path !== undefined && normalizePath(fault.path) !== path) return false;
    this.matchingSyncs += 1;
    return this.matchingSyncs === (fault.nth ?? 1);
  }

  private revertToMedia(ino: number): void {
    const onMedia = this.model.media.get(ino);
    const file = this.live.mutable(ino);
    file.sizeBytes = onMedia?.sizeBytes ?? 0;
    file.data = (onMedia?.data ?? new Uint8Array(0)).slice(0, file.sizeBytes);
  }

  private newHandle(ino: number, path: string, flags: OpenFlags, dsync: boolean): SimFileHandle {
    this.openHandles.set(ino, (this.openHandles.get(ino) ?? 0) + 1);
    return new SimFileHandle(this, ino, normalizePath(path), flags, dsync, this.state(ino).errorSeq);
  }

  /** Bytes of file data in use: files that still have a name, or an open handle (as on Linux). */
  private usedBytes(): number {
    const counted = new Set<number>();
    let total = 0;
    const count = (ino: number): void => {
      const inode = this.live.get(ino);
      if (counted.has(ino) || inode === undefined || inode.kind !== 'file') return;
      counted.add(ino);
      total += inode.sizeBytes;
    };
    for (const { ino } of this.live.walk()) count(ino);
    for (const ino of this.openHandles.keys()) count(ino);
    return total;
  }

  private checkCapacity(growthBytes: number, path: string): void {
    const capacity = this.faults.capacityBytes;
    if (capacity !== undefined && growthBytes > 0 && this.usedBytes() + growthBytes > capacity) {
      throw fsError(ErrorCodes.ENOSPC, 'no space left on device', path);
    }
  }

  private truncateLive(ino: number, sizeBytes: number, path: string): void {
    const inode = this.inode(ino);
    const oldSizeBytes = inode.sizeBytes;
    this.checkCapacity(sizeBytes - oldSizeBytes, path);
    const file = this.live.mutable(ino);
    if (sizeBytes < oldSizeBytes) file.data.fill(0, sizeBytes, oldSizeBytes);
    ensureCapacity(file, sizeBytes);
    file.sizeBytes = sizeBytes;
    this.model.issue({
      cls: 'size',
      ino,
      actions: [{ type: 'size', ino, sizeBytes, growOnly: false }],
      label: `truncate ${normalizePath(path)} ${oldSizeBytes} -> ${sizeBytes}`,
    });
    if (sizeBytes === 0 && oldSizeBytes > 0 && this.profile.replaceForcesData) this.state(ino).forceDataOnClose = true;
  }

  private createInode(dirIno: number, name: string, init: InodeInit, path: string): number {
    const ino = this.nextIno++;
    this.inits.set(ino, init);
    this.live.ensure(ino, init);
    this.live.mutable(dirIno).entries.set(name, ino);
    this.model.issue({
      cls: 'entry',
      actions: [{ type: 'link', dirIno, name, ino, init }],
      dirInos: [dirIno],
      linkedInos: [ino],
      label: `create ${init.kind === 'directory' ? 'directory ' : ''}${normalizePath(path)} (mode 0o${init.mode.toString(8)})`,
    });
    return ino;
  }

  private removeEntry(dirIno: number, name: string, ino: number, label: string): void {
    this.live.mutable(dirIno).entries.delete(name);
    this.model.issue({
      cls: 'entry',
      actions: [{ type: 'unlink', dirIno, name, ino }],
      dirInos: [dirIno],
      linkedInos: [ino],
      label,
    });
  }

  private inode(ino: number): Inode {
    const inode = this.live.get(ino);
    assert(inode !== undefined, `live inode ${ino} exists`);
    return inode;
  }

  private state(ino: number): InodeState {
    let state = this.inodeStates.get(ino);
    if (state === undefined) {
      state = { errorSeq: 0, forceDataOnClose: false };
      this.inodeStates.set(ino, state);
    }
    return state;
  }

  /** The directory that holds the last component; ENOENT/ENOTDIR on the way. */
  private parentOf(components: readonly string[], path: string): { dirIno: number; name: string } {
    let dirIno = rootInodeNumber;
    for (const name of components.slice(0, -1)) {
      const next = this.live.lookup(dirIno, name);
      if (next === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
      if (this.inode(next).kind !== 'directory') throw fsError(ErrorCodes.ENOTDIR, 'not a directory', path);
      dirIno = next;
    }
    return { dirIno, name: components[components.length - 1]! };
  }

  private lookupIn(components: readonly string[], path: string): number | undefined {
    const { dirIno, name } = this.parentOf(components, path);
    return this.live.lookup(dirIno, name);
  }

  private resolveExisting(path: string): number {
    const components = pathComponents(path);
    if (components.length === 0) return rootInodeNumber;
    const ino = this.lookupIn(components, path);
    if (ino === undefined) throw fsError(ErrorCodes.ENOENT, 'no such file or directory', path);
    return ino;
  }
}

export class SimFileHandle implements FileHandle {
  private closed = false;
  /** The inode's errorSeq this open file description has already seen. */
  seenErrorSeq: number;

  constructor(
    private readonly storage: SimStorage,
    readonly ino: number,
    readonly path: string,
    readonly flags: OpenFlags,
    readonly dsync: boolean,
    seenErrorSeq: number,
  ) {
    this.seenErrorSeq = seenErrorSeq;
  }

  async write(data: Uint8Array, positionBytes: number): Promise<number> {
    this.checkOpen();
    checkNonNegativeInteger(positionBytes, 'position', this.path);
    if (isAppendMode(this.flags)) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'positional write on an append-mode handle; use append()', { path: this.path });
    }
    this.checkWritable();
    return this.syncedIfDsync(this.storage.writeAt(this, data, positionBytes));
  }

  async append(data: Uint8Array): Promise<number> {
    this.checkOpen();
    this.checkWritable();
    return this.syncedIfDsync(this.storage.writeAt(this, data, this.storage.sizeOf(this)));
  }

  /**
   * O_DSYNC: the write, then a datasync of the file, as two recorded operations (a crash may
   * fall between them, as it may inside a real O_DSYNC write). Linux syncs only the written
   * range; syncing the whole file is stronger only for other unsynced writes through handles
   * without O_DSYNC.
   */
  private syncedIfDsync(bytesWritten: number): number {
    if (this.dsync && bytesWritten > 0) this.storage.syncHandle(this, true);
    return bytesWritten;
  }

  async read(lengthBytes: number, positionBytes: number): Promise<Uint8Array> {
    this.checkOpen();
    checkNonNegativeInteger(lengthBytes, 'length', this.path);
    checkNonNegativeInteger(positionBytes, 'position', this.path);
    if (!isReadable(this.flags)) throw fsError(ErrorCodes.EBADF, 'handle is not open for reading', this.path);
    return this.storage.readAt(this, lengthBytes, positionBytes);
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.checkOpen();
    checkNonNegativeInteger(sizeBytes, 'size', this.path);
    this.checkWritable();
    this.storage.truncateHandle(this, sizeBytes);
  }

  async sync(): Promise<void> {
    this.checkOpen();
    this.storage.syncHandle(this, false);
  }

  async datasync(): Promise<void> {
    this.checkOpen();
    this.storage.syncHandle(this, true);
  }

  async stat(): Promise<FileStat> {
    this.checkOpen();
    return this.storage.statHandle(this);
  }

  async tryLock(): Promise<boolean> {
    this.checkOpen();
    this.checkWritable();
    return this.storage.tryLockHandle(this);
  }

  async close(): Promise<void> {
    this.checkOpen();
    this.closed = true;
    this.storage.closeHandle(this);
  }

  private checkOpen(): void {
    if (this.closed) throw new CarveError(ErrorCodes.HANDLE_CLOSED, 'file handle is closed', { path: this.path });
  }

  private checkWritable(): void {
    if (!isWritable(this.flags)) throw fsError(ErrorCodes.EBADF, 'handle is not open for writing', this.path);
  }
}

function statOf(inode: Inode): FileStat {
  return { kind: inode.kind, sizeBytes: inode.kind === 'file' ? inode.sizeBytes : 0, mode: inode.mode };
}

function fsError(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string, path: string): CarveError {
  return new CarveError(code, message, { path });
}

function show(path: string): string {
  const normal = normalizePath(path);
  return normal === '' ? '.' : normal;
}
