/**
 * The `carve` command. Subcommands live in their own modules; this file wires them up and turns
 * typed errors into a one-line message and exit status 2.
 */
import { Command } from 'commander';
import { CarveError } from '../errors.js';
import { checkpointCommand } from './checkpoint-command.js';
import { journalCommand } from './journal-command.js';
import { kvCommand } from './kv-command.js';
import { labCommand } from './lab-command.js';

export async function main(argv: readonly string[]): Promise<void> {
  // A reader that stops early (carve lab | head) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const program = new Command('carve')
    .description('Durable storage that keeps its promises across power failures, and the crash lab that proves it.')
    .showHelpAfterError()
    .addCommand(labCommand())
    .addCommand(kvCommand())
    .addCommand(checkpointCommand())
    .addCommand(journalCommand());
  // Usage errors exit with 2, like typed errors; commander does not pass this to added commands.
  const everyCommand = (command: Command): Command[] => [command, ...command.commands.flatMap(everyCommand)];
  for (const command of everyCommand(program)) {
    command.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CarveError) {
      console.error(`carve: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

await main(process.argv.slice(2));
