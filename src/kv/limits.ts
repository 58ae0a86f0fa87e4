/**
 * The store's documented limits. Inputs beyond them are refused with E_KV_LIMIT before
 * anything is written, so an oversized write can never leave a partial record.
 */
export const maxKeyBytes = 65_535;
export const maxValueBytes = 16 * 1024 * 1024;
/** One batch (one commit's ops) has a bounded encoded size; a log record holds a group of batches. */
export const maxBatchBytes = 64 * 1024 * 1024;
/** A commit group (one write + one sync) stops growing past this many bytes. */
export const maxGroupBytes = 4 * 1024 * 1024;
/** The log is checkpointed into the data file once it grows past this (default). */
export const defaultCheckpointThresholdBytes = 64 * 1024 * 1024;
/** Zeros written ahead of the log's records, per fill (default; see log-space.ts). */
export const defaultLogPreallocationBytes = 256 * 1024;
/** The index folds in pending writes, and its memtable becomes a sorted run, at this many entries (default; see lsm-index.ts). */
export const defaultMemtableEntries = 16_384;
