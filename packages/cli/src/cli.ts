#!/usr/bin/env node
import { parseCommand, startStandaloneDashboard, USAGE, UsageError } from './index';

/** `conveyor dashboard …` — prints to the terminal, because that is its job (this is the one console user). */
async function main(): Promise<void> {
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`conveyor: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  if (command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(command.host);
  if (!loopback && !command.basicAuth) {
    process.stderr.write(
      `conveyor: warning: listening on ${command.host} without --basic-auth; anyone who reaches this port can see ${command.readOnly ? '' : 'and change '}your jobs.\n`,
    );
  }
  const logger = {
    debug() {},
    info() {},
    warn: (message: string) => process.stderr.write(`warn: ${message}\n`),
    error: (message: string) => process.stderr.write(`error: ${message}\n`),
  };
  const running = await startStandaloneDashboard(command, logger);
  process.stdout.write(
    `Conveyor dashboard (${command.store.kind}${command.readOnly ? ', read-only' : ''}${command.basicAuth ? ', basic auth' : ''}): ${running.url}\n`,
  );
  const stop = () => {
    running.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`conveyor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
