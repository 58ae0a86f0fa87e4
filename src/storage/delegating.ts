/**
 * Base classes for Storage wrappers (the tests' counting, gating and failing storages, and the
 * crash lab's injected faults): DelegatingStorage forwards every Storage method to an inner
 * storage and wraps each handle it opens through `wrapHandle`; DelegatingFileHandle forwards
 * every FileHandle member to an inner handle. A wrapper extends them and overrides only what it
 * changes.
 */
import type { FileHandle, FileStat, OpenFlags, OpenOptions, Storage } from './storage.js';

export class DelegatingStorage implements Storage {
  constructor(
    readonly inner: Storage,
    readonly description: string = inner.description,
  ) {}

  /** What `open` returns for a handle opened on the inner storage; the handle itself by default. */
  protected wrapHandle(handle: FileHandle): FileHandle {
    return handle;
  }

  locationOf(path: string): string {
    return this.inner.locationOf(path);
  }
  get processId(): number {
    return this.inner.processId;
  }
  async open(path: string, flags: OpenFlags, mode?: number, options?: OpenOptions): Promise<FileHandle> {
    return this.wrapHandle(await this.inner.open(path, flags, mode, options));
  }
  rename(fromPath: string, toPath: string): Promise<void> {
    return this.inner.rename(fromPath, toPath);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  mkdir(path: string, mode?: number): Promise<void> {
    return this.inner.mkdir(path, mode);
  }
  rmdir(path: string): Promise<void> {
    return this.inner.rmdir(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }
  chmod(path: string, mode: number): Promise<void> {
    return this.inner.chmod(path, mode);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
}

export class DelegatingFileHandle implements FileHandle {
  constructor(readonly inner: FileHandle) {}

  get path(): string {
    return this.inner.path;
  }
  get flags(): OpenFlags {
    return this.inner.flags;
  }
  get dsync(): boolean {
    return this.inner.dsync;
  }
  write(data: Uint8Array, positionBytes: number): Promise<number> {
    return this.inner.write(data, positionBytes);
  }
  append(data: Uint8Array): Promise<number> {
    return this.inner.append(data);
  }
  tryLock(): Promise<boolean> {
    return this.inner.tryLock();
  }
  read(lengthBytes: number, positionBytes: number): Promise<Uint8Array> {
    return this.inner.read(lengthBytes, positionBytes);
  }
  truncate(sizeBytes: number): Promise<void> {
    return this.inner.truncate(sizeBytes);
  }
  sync(): Promise<void> {
    return this.inner.sync();
  }
  datasync(): Promise<void> {
    return this.inner.datasync();
  }
  stat(): Promise<FileStat> {
    return this.inner.stat();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
