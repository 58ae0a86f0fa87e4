/**
 * The knobs of a simulated storage stack: which file system's persistence rules apply, what
 * the device does with its volatile write cache, and which faults are injected. Plain data,
 * so a run is fully described by its options and its seed.
 */

/** What the device does with writes and cache flushes. */
export type DeviceKind =
  /** A volatile write cache that honours FLUSH and FUA: a completed sync is on media. */
  | 'volatile-cache'
  /** No write cache: a write the file system sends is on media when it completes. */
  | 'no-cache'
  /** A volatile write cache that acknowledges FLUSH without doing it: nothing is ever known durable. */
  | 'ignores-flush';

export const deviceKinds: readonly DeviceKind[] = ['volatile-cache', 'no-cache', 'ignores-flush'];

export interface SyncFailureFault {
  /** Only syncs of this storage-relative path count (default: every file sync and datasync). */
  path?: string;
  /** The 1-based count of matching syncs that fails with EIO (default 1). */
  nth?: number;
}

export interface FaultPlan {
  /** fsync/fdatasync fails with EIO, with Linux semantics: reported once, dirty pages marked clean. */
  failSync?: SyncFailureFault;
  /** Total bytes of file data the device holds; a write that would exceed it fails with ENOSPC and writes nothing. */
  capacityBytes?: number;
  /** The device may tear any unsynced write at sector boundaries, whatever the file system's atomicity. */
  tornWrites?: boolean;
}
