// npm run temporal:postgres -- [--data-dir DIR] [--port N]
// Starts the production-shaped Temporal cluster (the real server on PostgreSQL,
// local-stack/temporal-postgres.ts), prints its address on stdout and runs until
// Ctrl-C. With --data-dir the database stays there and the next start reuses it;
// without, it lives in a temp dir removed at exit. Benchmarks take the address
// (--address HOST:PORT); workers and the CLI take it as TEMPORAL_ADDRESS.
import { Command, InvalidArgumentError } from 'commander';
import { startPostgresTemporal } from './temporal-postgres.js';

const program = new Command('temporal:postgres')
  .description('the Temporal server on PostgreSQL, on 127.0.0.1, until Ctrl-C')
  .option('--data-dir <dir>', 'keep PostgreSQL data, config and logs here (reused by the next start)')
  .option('--port <port>', "the frontend's gRPC port (default: a free one)", (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number');
    return n;
  })
  .parse();
const options = program.opts<{ dataDir?: string; port?: number }>();

const say = (line: string) => process.stderr.write(`[temporal:postgres] ${line}\n`);
const cluster = await startPostgresTemporal({
  ...(options.dataDir ? { stateDir: options.dataDir } : {}),
  ...(options.port ? { port: options.port } : {}),
  say,
});
const t = cluster.timings;
say(
  `initdb ${(t.initdb / 1000).toFixed(1)} s, PostgreSQL ${(t.postgres / 1000).toFixed(1)} s, schema ${(t.schema / 1000).toFixed(1)} s, ` +
    `server ${(t.server / 1000).toFixed(1)} s, namespace ${(t.namespace / 1000).toFixed(1)} s`,
);
say(`logs: ${cluster.logs.temporal}, ${cluster.logs.postgres}; Ctrl-C stops both`);
process.stdout.write(`${cluster.address}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    void cluster.stop().then(() => process.exit(0));
  });
}
