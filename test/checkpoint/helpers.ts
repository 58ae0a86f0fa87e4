/**
 * Test helpers for the checkpointer: a Storage wrapper whose every operation waits at a gate the
 * test opens one step at a time (so a test decides exactly how far a background writer gets
 * between two mutations), a rejection predicate for typed errors, and a state filler.
 */
import assert from 'node:assert/strict';
import { CarveError, type ErrorCode } from '../../src/errors.js';
import type { PagedState } from '../../src/checkpoint/paged-state.js';
import type { FileHandle, FileStat, OpenFlags, Storage } from '../../src/storage/storage.js';

/** A rejection predicate: a CarveError with `code` (and `path`, when given). */
export function carveError(code: ErrorCode, path?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (path !== undefined) assert.equal(error.path, path);
    return true;
  };
}

/** Lets every pending microtask run: with SimStorage, a gated writer is then parked at its next gate. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Operations wait here until the test releases them, one at a time or all at once. */
export class Gate {
  private readonly waiting: Array<() => void> = [];
  private open = false;

  pass(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  get pending(): number {
    return this.waiting.length;
  }

  /** Lets the oldest waiting operation through; false if none waits. */
  releaseOne(): boolean {
    const next = this.waiting.shift();
    next?.();
    return next !== undefined;
  }

  openFully(): void {
    this.open = true;
    for (const next of this.waiting.splice(0)) next();
  }

  close(): void {
    this.open = false;
  }
}

/** Every Storage and FileHandle call first waits at the gate. */
export class GatedStorage implements Storage {
  readonly description: string;
  locationOf(path: string): string {
    return this.inner.locationOf(path);
  }
  readonly gate = new Gate();

  constructor(readonly inner: Storage) {
    this.description = `gated:${inner.description}`;
  }

  async open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    await this.gate.pass();
    return new GatedHandle(await this.inner.open(path, flags, mode), this.gate);
  }
  async rename(fromPath: string, toPath: string): Promise<void> {
    await this.gate.pass();
    return this.inner.rename(fromPath, toPath);
  }
  async unlink(path: string): Promise<void> {
    await this.gate.pass();
    return this.inner.unlink(path);
  }
  async mkdir(path: string, mode?: number): Promise<void> {
    await this.gate.pass();
    return this.inner.mkdir(path, mode);
  }
  async rmdir(path: string): Promise<void> {
    await this.gate.pass();
    return this.inner.rmdir(path);
  }
  async readdir(path: string): Promise<string[]> {
    await this.gate.pass();
    return this.inner.readdir(path);
  }
  async stat(path: string): Promise<FileStat> {
    await this.gate.pass();
    return this.inner.stat(path);
  }
  async chmod(path: string, mode: number): Promise<void> {
    await this.gate.pass();
    return this.inner.chmod(path, mode);
  }
  async syncDir(path: string): Promise<void> {
    await this.gate.pass();
    return this.inner.syncDir(path);
  }
}

class GatedHandle implements FileHandle {
  constructor(
    private readonly inner: FileHandle,
    private readonly gate: Gate,
  ) {}
  get path(): string {
    return this.inner.path;
  }
  get flags(): OpenFlags {
    return this.inner.flags;
  }
  async write(data: Uint8Array, positionBytes: number): Promise<number> {
    await this.gate.pass();
    return this.inner.write(data, positionBytes);
  }
  async append(data: Uint8Array): Promise<number> {
    await this.gate.pass();
    return this.inner.append(data);
  }
  async read(lengthBytes: number, positionBytes: number): Promise<Uint8Array> {
    await this.gate.pass();
    return this.inner.read(lengthBytes, positionBytes);
  }
  async truncate(sizeBytes: number): Promise<void> {
    await this.gate.pass();
    return this.inner.truncate(sizeBytes);
  }
  async sync(): Promise<void> {
    await this.gate.pass();
    return this.inner.sync();
  }
  async datasync(): Promise<void> {
    await this.gate.pass();
    return this.inner.datasync();
  }
  async stat(): Promise<FileStat> {
    await this.gate.pass();
    return this.inner.stat();
  }
  async close(): Promise<void> {
    await this.gate.pass();
    return this.inner.close();
  }
}

/** Page p, byte k = (p * 31 + k * 7 + salt) & 0xff. */
export function patternPage(pageBytes: number, page: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: pageBytes }, (_, k) => (page * 31 + k * 7 + salt) & 0xff);
}

export function fillPattern(state: PagedState, salt: number): void {
  for (let page = 0; page < state.pageCount; page++) state.write(page, 0, patternPage(state.pageBytes, page, salt));
}

/** A copy of every page of the state, as the mutator sees it now. */
export function copyPages(state: PagedState): Uint8Array[] {
  return Array.from({ length: state.pageCount }, (_, page) => state.page(page).slice());
}

export function assertPagesEqual(actual: PagedState, expected: readonly Uint8Array[], message: string): void {
  assert.equal(actual.pageCount, expected.length, `${message}: page count`);
  for (let page = 0; page < expected.length; page++) {
    const found = actual.page(page);
    const wanted = expected[page]!;
    if (!Buffer.from(found).equals(Buffer.from(wanted))) {
      const at = found.findIndex((byte, k) => byte !== wanted[k]);
      assert.fail(`${message}: page ${page} differs first at byte ${at}: ${found[at]} instead of ${wanted[at]}`);
    }
  }
}
