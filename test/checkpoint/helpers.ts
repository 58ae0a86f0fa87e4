/**
 * Test helpers for the checkpointer: a Storage wrapper whose every operation waits at a gate the
 * test opens one step at a time (so a test decides exactly how far a background writer gets
 * between two mutations), a rejection predicate for typed errors, and a state filler.
 */
import assert from 'node:assert/strict';
import { CarveError, type ErrorCode } from '../../src/errors.js';
import type { PagedState } from '../../src/checkpoint/paged-state.js';
import type { FileHandle, FileStat, OpenFlags, Storage } from '../../src/storage/storage.js';
import { DelegatingFileHandle, DelegatingStorage } from '../../src/storage/delegating.js';

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

  /** Waits at the gate, then runs `operation`. */
  async through<T>(operation: () => Promise<T>): Promise<T> {
    await this.pass();
    return operation();
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
export class GatedStorage extends DelegatingStorage {
  readonly gate = new Gate();

  constructor(inner: Storage) {
    super(inner, `gated:${inner.description}`);
  }

  protected override wrapHandle(handle: FileHandle): FileHandle {
    return new GatedHandle(handle, this.gate);
  }
  override open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    return this.gate.through(() => super.open(path, flags, mode));
  }
  override rename(fromPath: string, toPath: string): Promise<void> {
    return this.gate.through(() => super.rename(fromPath, toPath));
  }
  override unlink(path: string): Promise<void> {
    return this.gate.through(() => super.unlink(path));
  }
  override mkdir(path: string, mode?: number): Promise<void> {
    return this.gate.through(() => super.mkdir(path, mode));
  }
  override rmdir(path: string): Promise<void> {
    return this.gate.through(() => super.rmdir(path));
  }
  override readdir(path: string): Promise<string[]> {
    return this.gate.through(() => super.readdir(path));
  }
  override stat(path: string): Promise<FileStat> {
    return this.gate.through(() => super.stat(path));
  }
  override chmod(path: string, mode: number): Promise<void> {
    return this.gate.through(() => super.chmod(path, mode));
  }
  override syncDir(path: string): Promise<void> {
    return this.gate.through(() => super.syncDir(path));
  }
}

class GatedHandle extends DelegatingFileHandle {
  constructor(
    inner: FileHandle,
    private readonly gate: Gate,
  ) {
    super(inner);
  }
  override write(data: Uint8Array, positionBytes: number): Promise<number> {
    return this.gate.through(() => super.write(data, positionBytes));
  }
  override append(data: Uint8Array): Promise<number> {
    return this.gate.through(() => super.append(data));
  }
  override read(lengthBytes: number, positionBytes: number): Promise<Uint8Array> {
    return this.gate.through(() => super.read(lengthBytes, positionBytes));
  }
  override truncate(sizeBytes: number): Promise<void> {
    return this.gate.through(() => super.truncate(sizeBytes));
  }
  override sync(): Promise<void> {
    return this.gate.through(() => super.sync());
  }
  override datasync(): Promise<void> {
    return this.gate.through(() => super.datasync());
  }
  override stat(): Promise<FileStat> {
    return this.gate.through(() => super.stat());
  }
  override close(): Promise<void> {
    return this.gate.through(() => super.close());
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
