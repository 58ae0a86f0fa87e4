/**
 * The record of a simulated run: every storage operation with the effects it issued and where
 * those effects went (page cache, device cache, media, or marked clean by a failed sync), plus
 * what the workload acknowledged to its user. The explorer rebuilds every crash point from it.
 */
import type { Effect, InodeInits } from './effects.js';
import type { Image, InodeInit } from './image.js';
import type { DeviceKind, FaultPlan } from './options.js';
import type { PersistenceProfile } from './profiles.js';

export interface OpRecord {
  readonly index: number;
  /** e.g. "write", "rename". */
  readonly name: string;
  /** A readable rendering of the call, e.g. "write(a.tmp, 1000 B @ 0)". */
  readonly call: string;
  /** 'ok', or the error code it failed with. */
  outcome: string;
  readonly issued: number[];
  /** Sent from the page cache to the device (by a sync). */
  readonly submitted: number[];
  /** Reached the media (FLUSH/FUA or a device without cache). */
  readonly onMedia: number[];
  /** Dropped from the dirty set by a failed sync: may or may not ever reach the media. */
  readonly cleaned: number[];
}

export interface Acknowledgement {
  /** How many operations had completed when the workload acknowledged. */
  readonly afterOps: number;
  readonly label: string;
}

export interface History {
  readonly profile: PersistenceProfile;
  readonly device: DeviceKind;
  readonly faults: FaultPlan;
  /** The media when recording began (everything before was settled). */
  readonly base: Image;
  readonly inits: InodeInits & Map<number, InodeInit>;
  /** Indexed by effect id. */
  readonly effects: Effect[];
  readonly ops: OpRecord[];
  readonly acks: Acknowledgement[];
}
