/**
 * The volatile layers as explicit state: which effects are dirty in the page cache, which the
 * device holds in its volatile cache, and which are on media. Issuing an effect computes its
 * ordering dependencies from the profile; a sync persists a set of effects together with
 * everything they depend on (closure), through the device. Every transition is recorded in
 * the History the explorer reads.
 */
import { assert } from '../errors.js';
import { Device } from './device.js';
import { type Action, type Effect, type EffectClass, type Variant, applyEffect } from './effects.js';
import type { History, OpRecord } from './history.js';
import type { Image, InodeInit } from './image.js';
import type { DeviceKind, FaultPlan } from './options.js';
import { type OrderingTable, type PersistenceProfile, orderingTable } from './profiles.js';

export interface EffectSpec {
  readonly cls: EffectClass;
  readonly actions: readonly Action[];
  readonly ino?: number;
  readonly dirInos?: readonly number[];
  readonly linkedInos?: readonly number[];
  readonly variants?: readonly Variant[];
  readonly label: string;
  /** Effects this one must land after, beyond the profile's ordering (e.g. replace heuristics). */
  readonly extraDeps?: readonly number[];
}

export class PersistenceModel {
  readonly history: History;
  readonly media: Image;
  private readonly device: Device;
  private readonly orderedGlobally: OrderingTable;
  private readonly orderedPerInode: OrderingTable;
  /** Issued, not yet sent to the device, not marked clean: written back by a sync. */
  private readonly dirty = new Map<number, Effect>();
  /** Effects every later effect must follow until they are durable (replace heuristics). */
  private readonly barriers = new Set<number>();
  private currentOp: OpRecord | undefined;

  constructor(profile: PersistenceProfile, device: DeviceKind, faults: FaultPlan, media: Image, inits: Map<number, InodeInit>) {
    this.media = media;
    this.device = new Device(device);
    this.orderedGlobally = orderingTable(profile.orderedGlobally);
    this.orderedPerInode = orderingTable(profile.orderedPerInode);
    this.history = { profile, device, faults, base: media.fork(), inits, effects: [], ops: [], acks: [] };
  }

  get profile(): PersistenceProfile {
    return this.history.profile;
  }

  beginOp(name: string, call: string): OpRecord {
    const op: OpRecord = {
      index: this.history.ops.length,
      name,
      call,
      outcome: 'ok',
      issued: [],
      submitted: [],
      onMedia: [],
      cleaned: [],
    };
    this.history.ops.push(op);
    this.currentOp = op;
    return op;
  }

  private op(): OpRecord {
    assert(this.currentOp !== undefined, 'effects are issued inside an operation');
    return this.currentOp;
  }

  issue(spec: EffectSpec): Effect {
    const id = this.history.effects.length;
    const deps = new Set<number>(spec.extraDeps ?? []);
    for (const pending of this.dirty.values()) {
      if (this.orderedGlobally[pending.cls].has(spec.cls)) deps.add(pending.id);
      else if (
        spec.ino !== undefined &&
        pending.ino === spec.ino &&
        this.orderedPerInode[pending.cls].has(spec.cls)
      ) {
        deps.add(pending.id);
      }
    }
    for (const barrier of this.barriers) if (this.dirty.has(barrier)) deps.add(barrier);
    for (const dep of deps) assert(dep < id, 'dependencies point to earlier effects');
    const effect: Effect = {
      id,
      opIndex: this.op().index,
      cls: spec.cls,
      actions: spec.actions,
      ino: spec.ino,
      dirInos: spec.dirInos ?? [],
      linkedInos: spec.linkedInos ?? [],
      deps: [...deps].filter((dep) => this.dirty.has(dep)).sort((a, b) => a - b),
      variants: spec.variants ?? ['data'],
      label: spec.label,
    };
    this.history.effects.push(effect);
    this.dirty.set(id, effect);
    this.op().issued.push(id);
    return effect;
  }

  /** Dirty effects matching a predicate, in issue order. */
  dirtyWhere(predicate: (effect: Effect) => boolean): Effect[] {
    return [...this.dirty.values()].filter(predicate);
  }

  /** Every later effect lands after these (until they are durable). */
  addBarriers(effects: readonly Effect[]): void {
    for (const effect of effects) this.barriers.add(effect.id);
  }

  /**
   * Writes back `targets` and everything they depend on, sends them to the device and flushes
   * its cache (a FLUSH the device may honour or ignore).
   */
  persist(targets: readonly Effect[]): void {
    const closure = new Set<number>();
    const stack = targets.map((effect) => effect.id);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (closure.has(id) || !this.dirty.has(id)) continue;
      closure.add(id);
      for (const dep of this.history.effects[id]!.deps) stack.push(dep);
    }
    const ids = [...closure].sort((a, b) => a - b);
    for (const id of ids) {
      this.dirty.delete(id);
      this.barriers.delete(id);
    }
    const op = this.op();
    op.submitted.push(...ids);
    this.reachMedia(this.device.submit(ids));
    this.reachMedia(this.device.flush());
  }

  /** A failed sync: the effects stop being dirty without being written; they may be lost. */
  markClean(effects: readonly Effect[]): void {
    for (const effect of effects) {
      this.dirty.delete(effect.id);
      this.barriers.delete(effect.id);
      this.op().cleaned.push(effect.id);
    }
  }

  private reachMedia(ids: readonly number[]): void {
    for (const id of ids) {
      const effect = this.history.effects[id]!;
      applyEffect(this.media, effect, 'data', this.history.inits);
      this.op().onMedia.push(id);
    }
  }

  /**
   * Everything in the page cache reaches the media (a clean shutdown): the media becomes a copy
   * of the live view, and a new recording starts from it.
   */
  settle(live: Image): PersistenceModel {
    this.dirty.clear();
    this.barriers.clear();
    this.device.clear();
    return new PersistenceModel(this.profile, this.device.kind, this.history.faults, live.fork(), this.history.inits);
  }
}
