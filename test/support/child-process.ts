/**
 * Child processes for the multi-process and SIGKILL tests: spawnTsxChild runs a TypeScript
 * script in a child Node (through tsx, from the repository root), collects its stdout lines and
 * its stderr, lets the test wait until a condition on what it printed holds, and kills it with
 * SIGKILL and awaits its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** How a child ended: its exit code, or the signal that killed it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface TsxChildOptions {
  /** Called with each complete stdout line (without its '\n'), in order, as it arrives. */
  readonly onLine?: (line: string) => void;
  /** 'pipe' to write to the child's stdin through `process.stdin`; ignored by default. */
  readonly stdin?: 'ignore' | 'pipe';
}

export interface TsxChild {
  readonly process: ChildProcess;
  /** The complete stdout lines so far. */
  readonly lines: readonly string[];
  /** Stdout after the last '\n': once `closed` has resolved, a last line the child left unfinished ('' if none). */
  readonly partialLine: string;
  /** Everything read from stderr so far. */
  readonly stderr: string;
  /** Resolves once the child has exited and its stdout and stderr have been read to the end. */
  readonly closed: Promise<ChildExit>;
  /** Resolves true once `condition()` holds (checked now and after each batch of stdout lines), false if the child exits first. */
  until(condition: () => boolean): Promise<boolean>;
  /** Sends SIGKILL unless the child has already exited. */
  kill(): void;
  /** `kill()`, then `closed`. */
  killAndWait(): Promise<ChildExit>;
}

/** Starts `node --import tsx <script> <args>` in the repository root; see TsxChild. */
export function spawnTsxChild(script: string, args: readonly string[], options: TsxChildOptions = {}): TsxChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partialLine = '';
  let stderr = '';
  let exited = false;
  const waiters: Array<{ condition: () => boolean; resolve: (met: boolean) => void }> = [];
  const wake = () => {
    for (const waiter of waiters.splice(0)) {
      if (waiter.condition()) waiter.resolve(true);
      else if (exited) waiter.resolve(false);
      else waiters.push(waiter);
    }
  };
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const complete = (partialLine + chunk).split('\n');
    partialLine = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      options.onLine?.(line);
    }
    wake();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.on('exit', () => {
    exited = true;
    wake();
  });
  const closed = new Promise<ChildExit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return {
    process: child,
    lines,
    get partialLine() {
      return partialLine;
    },
    get stderr() {
      return stderr;
    },
    closed,
    until: (condition) =>
      new Promise((resolve) => {
        waiters.push({ condition, resolve });
        wake();
      }),
    kill,
    killAndWait: () => {
      kill();
      return closed;
    },
  };
}
