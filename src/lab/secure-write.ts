/**
 * Scenario secure-write: a public file (mode 0644) is overwritten with a secret that must be
 * private (0600). Invariants after any crash: no file that holds any of the secret's bytes is
 * readable by group or others; and once the write was acknowledged, the file holds the whole
 * secret under 0600. Variants: write-then-chmod, chmod-then-write-no-sync,
 * chmod-fsync-then-write (the essay's fix), correct (writeSecretFile: private temp and rename).
 */
import { writeSecretFile } from '../durable/secret.js';
import { type ScenarioVariant, expectInvariant } from '../explore/scenario.js';
import { bytes, bytesEqual, readWholeFile, text } from '../storage/files.js';
import type { Storage } from '../storage/storage.js';
import type { ScenarioFamily } from './family.js';

const path = 'secret.txt';
const publicContent = bytes('public notes, anyone may read them;'.repeat(20));
const secretMarker = 'SECRET-';
/** 32-byte lines, so every 512-byte sector of the secret carries the marker. */
const secret = bytes(
  Array.from({ length: 40 }, (_, i) => `${secretMarker}${String(i).padStart(4, '0')}-xK9qP2mZ7wR4tYcV3bN8\n`).join(''),
);

async function syncFile(storage: Storage, filePath: string): Promise<void> {
  const handle = await storage.open(filePath, 'r');
  await handle.sync();
  await handle.close();
}

async function overwrite(storage: Storage, filePath: string, data: Uint8Array): Promise<void> {
  const handle = await storage.open(filePath, 'w');
  await handle.write(data, 0);
  await handle.sync();
  await handle.close();
}

type Workload = ScenarioVariant['workload'];

const variants: ReadonlyArray<{ variant: string; expected: 'safe' | 'unsafe'; summary: string; write: Workload }> = [
  {
    variant: 'write-then-chmod',
    expected: 'unsafe',
    summary: 'write the secret into the public file, fsync, then chmod 0600 and fsync',
    write: async (storage) => {
      await overwrite(storage, path, secret);
      await storage.chmod(path, 0o600);
      await syncFile(storage, path);
    },
  },
  {
    variant: 'chmod-then-write-no-sync',
    expected: 'unsafe',
    summary: 'chmod 0600, then write the secret and fsync (nothing orders the chmod before the data)',
    write: async (storage) => {
      await storage.chmod(path, 0o600);
      await overwrite(storage, path, secret);
    },
  },
  {
    variant: 'chmod-fsync-then-write',
    expected: 'safe',
    summary: "the essay's fix: chmod 0600 and fsync it before writing the secret",
    write: async (storage) => {
      await storage.chmod(path, 0o600);
      await syncFile(storage, path);
      await overwrite(storage, path, secret);
    },
  },
  {
    variant: 'correct',
    expected: 'safe',
    summary: 'writeSecretFile: exclusive 0600 temp, write, fsync, rename, fsync the directory',
    write: async (storage, context) => {
      await writeSecretFile(storage, path, secret, { randomSuffix: context.randomSuffix });
    },
  },
];

export function secureWriteFamily(): ScenarioFamily {
  return {
    name: 'secure-write',
    summary: 'overwrite a public file with a secret; no crash state exposes secret bytes under a wider mode',
    variants: variants.map(({ variant, expected, summary, write }): ScenarioVariant => ({
      scenario: 'secure-write',
      variant,
      expected,
      summary,
      async setup(storage) {
        const handle = await storage.open(path, 'wx', 0o644);
        await handle.write(publicContent, 0);
        await handle.close();
        await storage.chmod(path, 0o644);
      },
      async workload(storage, context) {
        await write(storage, context);
        context.acknowledge('secret written');
      },
      async check(storage, crash) {
        for (const name of await storage.readdir('')) {
          const stat = await storage.stat(name);
          if (stat.kind !== 'file') continue;
          const content = await readWholeFile(storage, name);
          expectInvariant(!text(content).includes(secretMarker) || (stat.mode & 0o077) === 0, 'secret-stays-private', () =>
            `${name} holds secret bytes under mode 0o${stat.mode.toString(8)}`,
          );
        }
        if (crash.acknowledged.includes('secret written')) {
          const stat = await storage.stat(path);
          const content = await readWholeFile(storage, path);
          expectInvariant(bytesEqual(content, secret) && stat.mode === 0o600, 'acknowledged-is-durable', () =>
            `${path} was acknowledged but holds ${content.length} B under 0o${stat.mode.toString(8)}`,
          );
        }
      },
    })),
  };
}
