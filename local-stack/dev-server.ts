// The local Temporal: the Temporal CLI dev server (provisioned into .tools/ by
// scripts/provision.sh) with its Web UI, state persisted in SQLite under
// .data/temporal, and the incident search attributes registered. It runs
// supervised: if it dies, it is started again on the same database, so the
// open incidents, their timers and their histories go on where they were.
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { searchAttributeCliArgs } from '../workflows/search-attributes.js';
import { httpAnswers, waitFor, type ProcessGroup, type SupervisedProcess } from './processes.js';

export interface DevServerOptions {
  repoRoot: string;
  dataDir: string;
  port: number;
  uiPort: number;
  /** The codec server the UI opens encrypted payloads with. */
  codecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The dev server's process, restarted on the same database when it dies. */
  process: SupervisedProcess;
}

/** True when something listens on the TCP port (another dev server, say). */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startDevServer(group: ProcessGroup, options: DevServerOptions): Promise<DevServer> {
  const temporal = join(options.repoRoot, '.tools/bin/temporal');
  if (!existsSync(temporal)) throw new Error(`${temporal} is missing: run 'npm run provision' first`);
  for (const port of [options.port, options.uiPort]) {
    if (await portInUse(port)) {
      throw new Error(`port ${port} is already in use: stop what listens there (another 'npm start'?) or pick other ports (--temporal-port, --ui-port)`);
    }
  }
  const dbDir = join(options.dataDir, 'temporal');
  mkdirSync(dbDir, { recursive: true });
  const uiUrl = `http://localhost:${options.uiPort}`;
  // The UI answers once the server behind it is up.
  const ready = () => httpAnswers(`${uiUrl}/api/v1/namespaces/default`);
  const server = group.supervise(
    'temporal',
    temporal,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--ui-port',
      String(options.uiPort),
      '--db-filename',
      join(dbDir, 'temporal.db'),
      '--log-level',
      'warn',
      ...searchAttributeCliArgs(),
      ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
    ],
    {},
    { ready },
  );
  await waitFor(ready, `the Temporal dev server (${uiUrl})`, 60_000);
  return { address: `127.0.0.1:${options.port}`, uiUrl, process: server };
}
