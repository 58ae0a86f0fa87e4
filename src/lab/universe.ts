/**
 * Scenario universe: the essay's galaxy simulation. A program keeps its world in a PagedState
 * and checkpoints it twice while it keeps mutating it (pages are written before each checkpoint
 * starts, right after it starts, and while its writer's write is in flight). Invariants after any
 * crash: the checkpoint file loads and is one whole checkpoint (the old one or a new one, never
 * a mix, never torn or missing); its pages equal the state at the moment that checkpoint began
 * (no write made during a checkpoint leaks into it); and once a checkpoint was acknowledged, the
 * file holds it or a newer one. Variants: no-fsync (temp, rename, directory fsync, but the temp
 * is never fsynced), in-place (overwrite the checkpoint file and fsync), correct (Checkpointer
 * with atomic publish). The state is 4 pages of 1 KiB and each checkpoint file (4,216 B) is
 * written in one call, so every crash state of every variant can be enumerated (bound 4096).
 */
import { Checkpointer } from '../checkpoint/checkpointer.js';
import { loadCheckpoint } from '../checkpoint/load.js';
import { PagedState } from '../checkpoint/paged-state.js';
import { type PublishProtocol, publishAtomically, sinkOf, sweepCheckpointTemps } from '../checkpoint/publish.js';
import { tempPathBeside } from '../durable/temp-names.js';
import { messageOf } from '../errors.js';
import { type ScenarioVariant, expectInvariant } from '../explore/scenario.js';
import { parentPath } from '../storage/paths.js';
import type { ScenarioFamily } from './family.js';

const checkpointPath = 'universe.ckpt';
const pageBytes = 1024;
const pageCount = 4;
const firstSequence = 1;

type Step =
  | { readonly kind: 'write'; readonly page: number; readonly offset: number; readonly lengthBytes: number; readonly value: number }
  | { readonly kind: 'checkpoint' }
  | { readonly kind: 'yield' }
  | { readonly kind: 'await-checkpoint' };

const write = (page: number, offset: number, lengthBytes: number, value: number): Step => ({ kind: 'write', page, offset, lengthBytes, value });
const yields = (count: number): Step[] => Array.from({ length: count }, () => ({ kind: 'yield' }) as const);

/** The workload, as data: the model and the real run interpret the same steps. */
function schedule(): Step[] {
  const steps: Step[] = [];
  for (const generation of [2, 3]) {
    steps.push(write(generation % pageCount, 100, 200, 0x20 + generation)); // before: in the snapshot
    steps.push({ kind: 'checkpoint' });
    // Before the writer captures them: pages 0 to 2 are copied on write.
    for (let page = 0; page < pageCount - 1; page++) steps.push(write(page, generation * 50, 64, 0xd0 + generation));
    steps.push(...yields(6));
    // The writer has captured every page and its write is in flight: page 3 is written in place.
    steps.push(write(3, 1000, 24, 0xe0 + generation));
    steps.push(write(1, 0, 16, 0xf0 + generation));
    steps.push({ kind: 'await-checkpoint' });
  }
  return steps;
}

function initialPage(page: number): Uint8Array {
  return Uint8Array.from({ length: pageBytes }, (_, k) => (page * 37 + k * 11 + 1) & 0xff);
}

/** The expected content of every checkpoint, by sequence number: the model's state when it began. */
function expectedSnapshots(): Map<number, Uint8Array[]> {
  const pages = Array.from({ length: pageCount }, (_, page) => initialPage(page));
  const snapshots = new Map<number, Uint8Array[]>([[firstSequence, pages.map((p) => p.slice())]]);
  let sequence = firstSequence;
  for (const step of schedule()) {
    if (step.kind === 'write') pages[step.page]!.fill(step.value, step.offset, step.offset + step.lengthBytes);
    if (step.kind === 'checkpoint') snapshots.set(++sequence, pages.map((p) => p.slice()));
  }
  return snapshots;
}

function initialState(): PagedState {
  const state = PagedState.create({ pageBytes, pageCount });
  for (let page = 0; page < pageCount; page++) state.write(page, 0, initialPage(page));
  return state;
}

const publishWithoutFsync: PublishProtocol = async (storage, path, body, options) => {
  const tempPath = tempPathBeside(path, options.randomSuffix);
  const handle = await storage.open(tempPath, 'wx', options.mode);
  await body(sinkOf(handle));
  await handle.close();
  await storage.rename(tempPath, path);
  await storage.syncDir(parentPath(path));
};

const publishInPlace: PublishProtocol = async (storage, path, body) => {
  const handle = await storage.open(path, 'r+');
  const sizeBytes = await body(sinkOf(handle));
  await handle.truncate(sizeBytes);
  await handle.sync();
  await handle.close();
};

const variants: ReadonlyArray<{ variant: string; expected: 'safe' | 'unsafe'; summary: string; publish: PublishProtocol }> = [
  {
    variant: 'no-fsync',
    expected: 'unsafe',
    summary: 'write the checkpoint to a temp file, rename it over the old one and fsync the directory, never fsyncing the temp',
    publish: publishWithoutFsync,
  },
  {
    variant: 'in-place',
    expected: 'unsafe',
    summary: 'overwrite the checkpoint file in place, then fsync it',
    publish: publishInPlace,
  },
  {
    variant: 'correct',
    expected: 'safe',
    summary: 'Checkpointer: copy-on-write snapshot, temp file, fsync, rename, fsync the directory',
    publish: publishAtomically,
  },
];

export function universeFamily(): ScenarioFamily {
  const snapshots = expectedSnapshots();
  return {
    name: 'universe',
    summary: 'checkpoint a world while it keeps changing; after a crash the file is one whole checkpoint, never older than acknowledged',
    variants: variants.map(({ variant, expected, summary, publish }): ScenarioVariant => ({
      scenario: 'universe',
      variant,
      expected,
      summary,
      async setup(storage) {
        const checkpointer = await Checkpointer.open(initialState(), {
          storage,
          path: checkpointPath,
          sequence: firstSequence - 1,
          randomSuffix: () => 'setup',
        });
        await checkpointer.checkpoint();
        await checkpointer.close();
      },
      async workload(storage, context) {
        const state = initialState();
        const checkpointer = await Checkpointer.open(state, {
          storage,
          path: checkpointPath,
          sequence: firstSequence,
          randomSuffix: context.randomSuffix,
          publish,
        });
        let running: Promise<{ sequence: number }> | undefined;
        for (const step of schedule()) {
          if (step.kind === 'write') state.write(step.page, step.offset, new Uint8Array(step.lengthBytes).fill(step.value));
          else if (step.kind === 'checkpoint') running = checkpointer.checkpoint();
          else if (step.kind === 'yield') await Promise.resolve();
          else {
            const { sequence } = await running!;
            context.acknowledge(`checkpoint ${sequence}`);
          }
        }
        await checkpointer.close();
      },
      async recover(storage) {
        await sweepCheckpointTemps(storage, checkpointPath);
      },
      async check(storage, crash) {
        let loaded: Awaited<ReturnType<typeof loadCheckpoint>> | undefined;
        let failure = '';
        try {
          loaded = await loadCheckpoint(storage, checkpointPath);
        } catch (error) {
          failure = messageOf(error);
        }
        expectInvariant(loaded !== undefined, 'old-or-new', () => `the checkpoint does not load: ${failure}`);
        const expectedPages = snapshots.get(loaded.sequence);
        expectInvariant(expectedPages !== undefined, 'old-or-new', () => `the checkpoint has sequence ${loaded.sequence}, which was never written`);
        for (let page = 0; page < pageCount; page++) {
          const found = loaded.state.page(page);
          const wanted = expectedPages[page]!;
          const at = found.findIndex((byte, k) => byte !== wanted[k]);
          expectInvariant(at < 0, 'snapshot-is-consistent', () =>
            `checkpoint ${loaded.sequence} page ${page} byte ${at} is 0x${found[at]!.toString(16)}, not 0x${wanted[at]!.toString(16)} as when the checkpoint began`,
          );
        }
        const acknowledged = Math.max(
          firstSequence,
          ...crash.acknowledged.map((label) => Number(/^checkpoint (\d+)$/.exec(label)?.[1] ?? firstSequence)),
        );
        expectInvariant(loaded.sequence >= acknowledged, 'acknowledged-is-durable', () =>
          `checkpoint ${acknowledged} was acknowledged, but the file holds checkpoint ${loaded.sequence}`,
        );
      },
    })),
  };
}
