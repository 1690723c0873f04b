// `npm start`: the local stack on the embedded defaults. It starts the Temporal
// dev server (UI on http://localhost:8233, state under .data/) and the incident
// worker, prints where to look, and stops everything it started on Ctrl-C.
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { startDevServer } from './dev-server.js';
import { httpAnswers, ProcessGroup, waitFor } from './processes.js';

const repoRoot = resolve(import.meta.dirname, '..');

const program = new Command('npm start --')
  .description('Run the incident-response stack locally on the embedded defaults')
  .option('--temporal-port <port>', 'Temporal frontend port', '7233')
  .option('--ui-port <port>', 'Temporal Web UI port', '8233')
  .option('--worker-port <port>', 'worker health port', '9464')
  .option('--data-dir <dir>', 'where state and logs are kept', join(repoRoot, '.data'))
  .parse();

const opts = program.opts<{ temporalPort: string; uiPort: string; workerPort: string; dataDir: string }>();

async function main(): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  const group = new ProcessGroup(join(dataDir, 'logs'));
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      process.stdout.write('\nstopping...\n');
      await group.stopAll();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    process.stdout.write('starting the Temporal dev server...\n');
    const temporal = await startDevServer(group, {
      repoRoot,
      dataDir,
      port: Number(opts.temporalPort),
      uiPort: Number(opts.uiPort),
    });
    process.stdout.write(`starting the incident worker...\n`);
    group.start('worker', process.execPath, ['--import', 'tsx', join(repoRoot, 'worker/main.ts')], {
      TEMPORAL_ADDRESS: temporal.address,
      WORKER_HTTP_PORT: opts.workerPort,
      OUTBOX_DIR: join(dataDir, 'outbox'),
      REPORTS_DIR: join(dataDir, 'reports'),
    });
    await waitFor(() => httpAnswers(`http://127.0.0.1:${opts.workerPort}/health/ready`), 'the worker to be ready', 120_000);
    process.stdout.write(
      [
        '',
        `Temporal UI:  ${temporal.uiUrl}`,
        `Temporal:     ${temporal.address}`,
        `Logs:         ${join(dataDir, 'logs')}`,
        '',
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
}

void main();
