// The local stack encrypts incident histories as a production deployment should:
// a key of its own, made on the first start and kept beside the database it
// protects (.data/history-keys, read by the worker, the receiver and, from this
// checkout, the `incident` CLI), and a codec server on loopback so the dev
// server's Web UI shows the incidents in clear.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildCodecServer } from '../codec/codec-server.js';
import { historyKeysFrom, newHistoryKey } from '../codec/history-keys.js';

/** The key file of this data directory, made (owner-only) if it is not there yet. */
export function localHistoryKeysFile(dataDir: string): string {
  const file = join(dataDir, 'history-keys');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${newHistoryKey('local-1')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return file;
}

/** The codec server for the UI on 127.0.0.1:port, answering the UI's origins only. */
export async function startLocalCodecServer(keysFile: string, port: number, uiPort: number): Promise<{ url: string; app: FastifyInstance }> {
  const ring = historyKeysFrom({ INCIDENT_HISTORY_KEYS_FILE: keysFile });
  if (!ring) throw new Error(`${keysFile} has no history key`);
  const app = await buildCodecServer({ ring, origins: [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`], namespaces: ['default'] });
  try {
    await app.listen({ host: '127.0.0.1', port });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${port} is already in use: stop what listens there (another 'npm start'?) or pick another port (--codec-port)`);
    }
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, app };
}
