/**
 * CarveLevel: the store behind the `abstract-level` interface, so it drops in where a Level
 * database is expected (encodings, sublevels, iterators, chained batches and hooks come from
 * abstract-level). Every write resolves only once it is durable. Iterators read an implicit
 * snapshot taken when they are created; explicit snapshots are supported too.
 */
import { AbstractIterator, AbstractKeyIterator, AbstractLevel, AbstractSnapshot, AbstractValueIterator } from 'abstract-level';
import type { Storage } from '../storage/storage.js';
import type { BatchOp } from './batch-codec.js';
import { type RangeOptions } from './range.js';
import { type KvOptions, type Snapshot, KvStore } from './store.js';
import { openDirectoryStorage } from './directory-storage.js';

export interface CarveLevelOptions extends Omit<KvOptions, 'createIfMissing'> {
  /** The storage to use; by default the real disk, rooted at the location. */
  storage?: Storage;
}

/**
 * The options CarveLevel takes for itself and the store; the rest go to abstract-level
 * (createIfMissing is abstract-level's open option). A store option missing here fails to
 * typecheck, so none is dropped silently.
 */
const carveOptionNames = {
  storage: true,
  durability: true,
  checkpointThresholdBytes: true,
  logPreallocationBytes: true,
  logRecycling: true,
  memtableEntries: true,
  random: true,
} as const satisfies Record<keyof CarveLevelOptions, true>;

type Bytes = Uint8Array;
type LevelOptions = Record<string, unknown> & RangeOptions & { snapshot?: CarveLevelSnapshot };

export class CarveLevel extends AbstractLevel<Bytes, Bytes, Bytes> {
  readonly location: string;
  private readonly carveOptions: CarveLevelOptions;
  private store: KvStore | undefined;

  constructor(location: string, options: CarveLevelOptions & Record<string, unknown> = {}) {
    const carveOptions: Record<string, unknown> = {};
    const forward: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(options)) (Object.hasOwn(carveOptionNames, name) ? carveOptions : forward)[name] = value;
    super(
      {
        encodings: { view: true },
        seek: true,
        createIfMissing: true,
        errorIfExists: true,
        has: true,
        explicitSnapshots: true,
        implicitSnapshots: true,
        permanence: true,
      },
      forward,
    );
    this.location = location;
    this.carveOptions = carveOptions as CarveLevelOptions;
  }

  /** The underlying store (open databases only). */
  get kv(): KvStore {
    if (this.store === undefined) throw new Error('the database is not open');
    return this.store;
  }

  async _open(options: { createIfMissing: boolean; errorIfExists: boolean }): Promise<void> {
    const { storage, directory } = await openDirectoryStorage(this.location, this.carveOptions.storage, options);
    this.store = await KvStore.open(storage, directory, { ...definedOnly(this.carveOptions), createIfMissing: options.createIfMissing });
  }

  async _close(): Promise<void> {
    await this.store?.close();
    this.store = undefined;
  }

  async _get(key: Bytes, options: LevelOptions): Promise<Bytes | undefined> {
    return this.reader(options).get(key);
  }

  async _getMany(keys: Bytes[], options: LevelOptions): Promise<Array<Bytes | undefined>> {
    const reader = this.reader(options);
    return keys.map((key) => reader.get(key));
  }

  async _has(key: Bytes, options: LevelOptions): Promise<boolean> {
    return this.reader(options).get(key) !== undefined;
  }

  async _hasMany(keys: Bytes[], options: LevelOptions): Promise<boolean[]> {
    const reader = this.reader(options);
    return keys.map((key) => reader.get(key) !== undefined);
  }

  async _put(key: Bytes, value: Bytes): Promise<void> {
    await this.kv.put(key, value);
  }

  async _del(key: Bytes): Promise<void> {
    await this.kv.del(key);
  }

  async _batch(operations: Array<{ type: 'put' | 'del'; key: Bytes; value?: Bytes }>): Promise<void> {
    const ops: BatchOp[] = operations.map((op) =>
      op.type === 'put' ? { type: 'put', key: op.key, value: op.value! } : { type: 'del', key: op.key },
    );
    await this.kv.write(ops);
  }

  async _clear(options: LevelOptions): Promise<void> {
    const limit = typeof options.limit === 'number' ? options.limit : -1;
    const keys = [...this.reader(options).entries({ ...rangeOf(options), limit })].map(([key]) => key);
    if (keys.length > 0) await this.kv.write(keys.map((key) => ({ type: 'del', key })));
  }

  _iterator(options: LevelOptions): CarveEntryIterator {
    return new CarveEntryIterator(this, options, this.reader(options));
  }

  _keys(options: LevelOptions): CarveKeyIterator {
    return new CarveKeyIterator(this, options, this.reader(options));
  }

  _values(options: LevelOptions): CarveValueIterator {
    return new CarveValueIterator(this, options, this.reader(options));
  }

  _snapshot(options: object): CarveLevelSnapshot {
    return new CarveLevelSnapshot(this.kv.snapshot(), options);
  }

  /** The explicit snapshot in the options, or an implicit one taken now. */
  private reader(options: LevelOptions): Snapshot {
    return options.snapshot?.view ?? this.kv.snapshot();
  }
}

/** The runtime constructor takes { owner }, though abstract-level's type declarations omit it. */
const SnapshotBase = AbstractSnapshot as unknown as new (options: object) => AbstractSnapshot;

export class CarveLevelSnapshot extends SnapshotBase {
  constructor(
    readonly view: Snapshot,
    options: object,
  ) {
    super(options);
  }
}

/** Walks a snapshot in range order; seek restarts the walk at a target within the range. */
class Cursor {
  private walk: Iterator<[Uint8Array, Uint8Array]>;

  constructor(
    private readonly view: Snapshot,
    private readonly range: RangeOptions,
  ) {
    this.walk = view.entries(range)[Symbol.iterator]();
  }

  next(): [Uint8Array, Uint8Array] | undefined {
    const step = this.walk.next();
    return step.done === true ? undefined : step.value;
  }

  /** Restarts at the first entry at or past `target` in the walk's direction, within the range. */
  seek(target: Uint8Array): void {
    const { gt, gte, lt, lte, reverse } = this.range;
    let narrowed: RangeOptions;
    if (reverse === true) {
      const high = lte ?? lt;
      narrowed = high !== undefined && Buffer.compare(target, high) >= 0 ? this.range : { gt, gte, lte: target, reverse };
    } else {
      const low = gte ?? gt;
      narrowed = low !== undefined && Buffer.compare(target, low) <= 0 ? this.range : { gte: target, lt, lte };
    }
    this.walk = this.view.entries(narrowed)[Symbol.iterator]();
  }
}

class CarveEntryIterator extends AbstractIterator<CarveLevel, Bytes, Bytes> {
  private readonly cursor: Cursor;
  constructor(db: CarveLevel, options: LevelOptions, view: Snapshot) {
    super(db, options);
    this.cursor = new Cursor(view, rangeOf(options));
  }
  async _next(): Promise<[Bytes, Bytes] | undefined> {
    return this.cursor.next();
  }
  _seek(target: Bytes): void {
    this.cursor.seek(target);
  }
}

class CarveKeyIterator extends AbstractKeyIterator<CarveLevel, Bytes> {
  private readonly cursor: Cursor;
  constructor(db: CarveLevel, options: LevelOptions, view: Snapshot) {
    super(db, options);
    this.cursor = new Cursor(view, rangeOf(options));
  }
  async _next(): Promise<Bytes | undefined> {
    return this.cursor.next()?.[0];
  }
  _seek(target: Bytes): void {
    this.cursor.seek(target);
  }
}

class CarveValueIterator extends AbstractValueIterator<CarveLevel, Bytes, Bytes> {
  private readonly cursor: Cursor;
  constructor(db: CarveLevel, options: LevelOptions, view: Snapshot) {
    super(db, options);
    this.cursor = new Cursor(view, rangeOf(options));
  }
  async _next(): Promise<Bytes | undefined> {
    return this.cursor.next()?.[1];
  }
  _seek(target: Bytes): void {
    this.cursor.seek(target);
  }
}

function rangeOf(options: LevelOptions): RangeOptions {
  return { gt: options.gt, gte: options.gte, lt: options.lt, lte: options.lte, reverse: options.reverse === true };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
