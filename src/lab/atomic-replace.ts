/**
 * Scenario atomic-replace: a program replaces the content of files it has saved before.
 * Invariants after any crash: each file holds its old content or its new content, whole (never
 * empty, torn or missing); and once the replacement was acknowledged, the new content.
 * Variants: in-place (truncate and write), rename-no-fsync, rename-no-dir-fsync, correct.
 */
import { replaceFileAtomically } from '../durable/replace.js';
import { type ScenarioVariant, type WorkloadContext, expectInvariant } from '../explore/scenario.js';
import { bytes, bytesEqual, readFileIfExists } from '../storage/files.js';
import type { Storage } from '../storage/storage.js';
import { preview } from '../explore/trace.js';
import type { ScenarioFamily } from './family.js';

export interface AtomicReplaceOptions {
  /** How many files the workload replaces, one after another (default 1). */
  files?: number;
}

const directory = 'data';

function fileName(index: number): string {
  return `${directory}/file-${index}.txt`;
}

/** Distinct, recognisable content spanning several sectors. */
function content(index: number, version: 'old' | 'new', lengthBytes: number): Uint8Array {
  const line = `${version} content of file ${index};`;
  return bytes(line.repeat(Math.ceil(lengthBytes / line.length)).slice(0, lengthBytes));
}

const oldContent = (index: number) => content(index, 'old', 700);
const newContent = (index: number) => content(index, 'new', 1300);

type Replace = (storage: Storage, path: string, data: Uint8Array, context: WorkloadContext) => Promise<void>;

const replacements: ReadonlyArray<{ variant: string; expected: 'safe' | 'unsafe'; summary: string; replace: Replace }> = [
  {
    variant: 'in-place',
    expected: 'unsafe',
    summary: 'truncate the file and write the new content into it, then fsync',
    replace: async (storage, path, data) => {
      const handle = await storage.open(path, 'w');
      await handle.write(data, 0);
      await handle.sync();
      await handle.close();
    },
  },
  {
    variant: 'rename-no-fsync',
    expected: 'unsafe',
    summary: 'write a temp file and rename it over the target without fsyncing the temp',
    replace: async (storage, path, data, context) => {
      const temp = `${path}.tmp-${context.randomSuffix()}`;
      const handle = await storage.open(temp, 'wx');
      await handle.write(data, 0);
      await handle.close();
      await storage.rename(temp, path);
      await storage.syncDir(directory);
    },
  },
  {
    variant: 'rename-no-dir-fsync',
    expected: 'unsafe',
    summary: 'write and fsync a temp file and rename it over the target, without fsyncing the directory',
    replace: async (storage, path, data, context) => {
      const temp = `${path}.tmp-${context.randomSuffix()}`;
      const handle = await storage.open(temp, 'wx');
      await handle.write(data, 0);
      await handle.sync();
      await handle.close();
      await storage.rename(temp, path);
    },
  },
  {
    variant: 'correct',
    expected: 'safe',
    summary: 'replaceFileAtomically: temp, write, fsync, rename, fsync the directory',
    replace: (storage, path, data, context) =>
      replaceFileAtomically(storage, path, data, { randomSuffix: context.randomSuffix }),
  },
];

export function atomicReplaceFamily(options: AtomicReplaceOptions = {}): ScenarioFamily {
  const files = options.files ?? 1;
  const indexes = Array.from({ length: files }, (_, i) => i);
  return {
    name: 'atomic-replace',
    summary: 'replace saved files; after a crash each holds old or new content, and new once acknowledged',
    variants: replacements.map(({ variant, expected, summary, replace }): ScenarioVariant => ({
      scenario: 'atomic-replace',
      variant,
      expected,
      summary,
      async setup(storage) {
        await storage.mkdir(directory);
        for (const index of indexes) {
          const handle = await storage.open(fileName(index), 'wx');
          await handle.write(oldContent(index), 0);
          await handle.close();
        }
      },
      async workload(storage, context) {
        for (const index of indexes) {
          await replace(storage, fileName(index), newContent(index), context);
          context.acknowledge(`replaced ${fileName(index)}`);
        }
      },
      async check(storage, crash) {
        for (const index of indexes) {
          const path = fileName(index);
          const found = await readFileIfExists(storage, path);
          expectInvariant(found !== undefined, 'old-or-new', () => `${path} is missing`);
          const isNew = bytesEqual(found, newContent(index));
          expectInvariant(isNew || bytesEqual(found, oldContent(index)), 'old-or-new', () =>
            `${path} holds neither the old nor the new content: ${found.length} B ${preview(found)}`,
          );
          expectInvariant(isNew || !crash.acknowledged.includes(`replaced ${path}`), 'acknowledged-is-durable', () =>
            `${path} was acknowledged as replaced but holds the old content`,
          );
        }
      },
    })),
  };
}
