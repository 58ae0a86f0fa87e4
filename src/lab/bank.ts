/**
 * Scenario bank (the essay's "$50 from Alice to Bob"): concurrent transfers between accounts in
 * the key-value store, with three checkpoints, each running while more transfers are made. The
 * second and third make their new logs from the logs the one before retired (log recycling), so
 * a crash may find a recycled log followed by a newer one. Each transfer
 * is one batch: both new balances and a marker naming the transfer. Invariants after any crash:
 * the total balance is conserved, and every acknowledged transfer is applied exactly once (its
 * marker is present, and the balances are exactly the initial ones plus the marked transfers).
 * Variants: ack-before-sync (durability 'none': "done" once the record is in the page cache),
 * recycle-same-salt (a recycled log keeps its old salt, so its old records can be replayed),
 * correct (acknowledged after the log sync: an O_DSYNC write into space preallocated with zeros,
 * or into a recycled log under a new salt). Two more inject a fault: the directory sync after the
 * first checkpoint's new log takes its name fails (EIO; lab/faults.ts, so traces do not show that
 * sync). rotation-fails-keeps-old-log goes on committing into the old log, past where the new
 * log's header says it ended, so that recovery refuses the directory; rotation-fails fails the
 * store, as the store does.
 */
import { type ScenarioVariant, expectInvariant } from '../explore/scenario.js';
import { type KvLabFaults, KvStore } from '../kv/store.js';
import { bytes, text } from '../storage/files.js';
import type { Storage } from '../storage/storage.js';
import type { ScenarioFamily } from './family.js';
import { FailingLogRenameSync } from './faults.js';

const directory = 'bank';
/** Small fills, so that the store writes zeros ahead of its records in this short run too. */
const logPreallocationBytes = 4096;
const initialBalances: Readonly<Record<string, number>> = { alice: 100, bob: 100, carol: 100 };
const totalBalance = Object.values(initialBalances).reduce((sum, b) => sum + b, 0);

interface Transfer {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly amount: number;
}

const rounds: ReadonlyArray<readonly Transfer[]> = [
  [
    { id: 't1', from: 'alice', to: 'bob', amount: 50 },
    { id: 't2', from: 'bob', to: 'carol', amount: 30 },
    { id: 't3', from: 'carol', to: 'alice', amount: 20 },
  ],
  [
    { id: 't4', from: 'bob', to: 'alice', amount: 10 },
    { id: 't5', from: 'alice', to: 'carol', amount: 40 },
  ],
  [{ id: 't6', from: 'carol', to: 'bob', amount: 25 }],
  [{ id: 't7', from: 'bob', to: 'alice', amount: 15 }],
];
const allTransfers = rounds.flat();

const accountKey = (name: string) => bytes(`account/${name}`);
const markerKey = (id: string) => bytes(`transfer/${id}`);

/** Submits a transfer against the balances the application holds; resolves when the store acknowledges. */
function transfer(db: KvStore, balances: Record<string, number>, t: Transfer): Promise<void> {
  balances[t.from]! -= t.amount;
  balances[t.to]! += t.amount;
  return db.write([
    { type: 'put', key: accountKey(t.from), value: bytes(String(balances[t.from])) },
    { type: 'put', key: accountKey(t.to), value: bytes(String(balances[t.to])) },
    { type: 'put', key: markerKey(t.id), value: bytes('applied') },
  ]);
}

async function readBalances(storage: Storage): Promise<{ balances: Record<string, number>; applied: string[] }> {
  const db = await KvStore.open(storage, directory, { createIfMissing: false, logPreallocationBytes });
  try {
    const balances: Record<string, number> = {};
    for (const name of Object.keys(initialBalances)) {
      const value = db.get(accountKey(name));
      balances[name] = value === undefined ? Number.NaN : Number(text(value));
    }
    const applied = allTransfers.filter((t) => db.get(markerKey(t.id)) !== undefined).map((t) => t.id);
    return { balances, applied };
  } finally {
    await db.close();
  }
}

const variants: ReadonlyArray<{
  variant: string;
  expected: 'safe' | 'unsafe';
  summary: string;
  durability: 'sync' | 'none';
  labFaults?: KvLabFaults;
  /** The first checkpoint's new log fails after its rename (FailingLogRenameSync). */
  rotationFails?: boolean;
}> = [
  {
    variant: 'ack-before-sync',
    expected: 'unsafe',
    summary: 'the client is told "done" when the log record is in the page cache (durability none)',
    durability: 'none',
  },
  {
    variant: 'recycle-same-salt',
    expected: 'unsafe',
    summary: 'a log made from a retired one keeps its old salt, so its old records look like new ones',
    durability: 'sync',
    labFaults: { recycledLogKeepsSalt: true },
  },
  {
    variant: 'rotation-fails-keeps-old-log',
    expected: 'unsafe',
    summary: "a checkpoint's new log takes its name but its directory sync fails (EIO), and commits go on into the log before it",
    durability: 'sync',
    labFaults: { oldLogOutlivesNewLog: true },
    rotationFails: true,
  },
  {
    variant: 'rotation-fails',
    expected: 'safe',
    summary: "a checkpoint's new log takes its name but its directory sync fails (EIO), and the store fails until reopened",
    durability: 'sync',
    rotationFails: true,
  },
  {
    variant: 'correct',
    expected: 'safe',
    summary: 'acknowledged only after the group commit has synced the log',
    durability: 'sync',
  },
];

export function bankFamily(): ScenarioFamily {
  return {
    name: 'bank',
    summary: 'concurrent transfers in the write-ahead-logged store; money is conserved and acknowledged transfers applied once',
    variants: variants.map(({ variant, expected, summary, durability, labFaults, rotationFails }): ScenarioVariant => ({
      scenario: 'bank',
      variant,
      expected,
      summary,
      async setup(storage) {
        const db = await KvStore.open(storage, directory, { random: () => 0.5, logPreallocationBytes });
        await db.write(Object.entries(initialBalances).map(([name, balance]) => ({ type: 'put' as const, key: accountKey(name), value: bytes(String(balance)) })));
        await db.close();
      },
      async workload(storage, context) {
        const faulty = rotationFails === true ? new FailingLogRenameSync(storage) : undefined;
        const db = await KvStore.open(
          faulty ?? storage,
          directory,
          { durability, random: () => context.prng.next(), logPreallocationBytes },
          labFaults,
        );
        const balances = { ...initialBalances };
        // Under the injected fault, refused transfers and failed checkpoints are expected: only
        // what is acknowledged counts. Elsewhere any failure ends the workload, and the lab then
        // fails the run (lab/verdict.ts).
        faulty?.arm();
        const ignore = faulty === undefined ? undefined : (): void => undefined;
        const run = (round: readonly Transfer[]) =>
          round.map((t) => transfer(db, balances, t).then(() => context.acknowledge(t.id), ignore));
        const checkpoint = () => (ignore === undefined ? db.checkpoint() : db.checkpoint().catch(ignore));
        await Promise.all(run(rounds[0]!));
        for (const round of rounds.slice(1)) await Promise.all([checkpoint(), ...run(round)]);
        await db.close();
      },
      async check(storage, crash) {
        const { balances, applied } = await readBalances(storage);
        const total = Object.values(balances).reduce((sum, b) => sum + b, 0);
        expectInvariant(total === totalBalance, 'money-is-conserved', () => `total is ${total}, not ${totalBalance}: ${JSON.stringify(balances)}`);
        for (const id of crash.acknowledged) {
          expectInvariant(applied.includes(id), 'acknowledged-transfer-applied', () => `transfer ${id} was acknowledged but is not applied`);
        }
        const expectedBalances = { ...initialBalances };
        for (const t of allTransfers.filter((t) => applied.includes(t.id))) {
          expectedBalances[t.from]! -= t.amount;
          expectedBalances[t.to]! += t.amount;
        }
        expectInvariant(JSON.stringify(expectedBalances) === JSON.stringify(balances), 'applied-exactly-once', () =>
          `balances ${JSON.stringify(balances)} are not the initial ones plus transfers ${applied.join(', ') || '(none)'}`,
        );
      },
    })),
  };
}
