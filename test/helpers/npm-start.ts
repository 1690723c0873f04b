// How the end-to-end tests run `npm start`: on ports of their own and with a
// fresh data directory, so a user's running stack (and its database) is left alone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm start --silent -- ARGS` on basePort (Temporal), basePort + 1 (UI),
 * + 2 (sandbox), + 3 (receiver), + 4 (worker) and + 8 (codec server), then any further port flags,
 * with a new data directory under the system's temp directory named DATADIRPREFIX…
 * (returned too, for the tests that read its logs).
 */
export function npmStartArgs(args: string[], basePort: number, dataDirPrefix: string, extraPortArgs: string[] = []): { args: string[]; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  const ports = [
    '--temporal-port',
    String(basePort),
    '--ui-port',
    String(basePort + 1),
    '--sandbox-port',
    String(basePort + 2),
    '--receiver-port',
    String(basePort + 3),
    '--worker-port',
    String(basePort + 4),
    '--codec-port',
    String(basePort + 8),
  ];
  return { args: ['start', '--silent', '--', ...args, ...ports, ...extraPortArgs, '--data-dir', dataDir], dataDir };
}
