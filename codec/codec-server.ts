// The codec server: how the Temporal Web UI (and `temporal` CLI with
// --codec-endpoint) shows encrypted incident histories in clear. The browser
// posts a history's payloads to /decode and gets them back opened; nothing is
// stored. A browser page of another origin than the UI's is refused, but a request
// without an Origin (curl, any local program) is answered: it opens anything sealed
// with its keys for whoever can reach its port. So it listens on loopback unless
// told otherwise: anywhere else, put it behind the same sign-in as the UI.
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import { HistoryEncryptionCodec, HistoryDecryptionError } from './encryption-codec.js';
import type { HistoryKeyRing } from './history-keys.js';

export interface CodecServerOptions {
  ring: HistoryKeyRing;
  /** The Web UI's origins (`http://localhost:8233`): the only pages whose requests are answered. */
  origins: readonly string[];
  /** The Temporal namespaces whose payloads it opens (the UI sends X-Namespace); default: any. */
  namespaces?: readonly string[];
}

/** Payloads in proto3 JSON, as the UI sends them: metadata values and data in base64. */
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const PayloadsBody = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }).strict()).max(10_000),
});
type JsonPayload = z.infer<typeof PayloadsBody>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export async function buildCodecServer(options: CodecServerOptions): Promise<FastifyInstance> {
  const codec = new HistoryEncryptionCodec(options.ring);
  const origins = new Set(options.origins);
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  await app.register(cors, {
    origin: [...origins],
    methods: ['POST'],
    allowedHeaders: ['content-type', 'x-namespace', 'authorization'],
    credentials: true,
    maxAge: 600,
  });
  // CORS only tells a browser what it may read; a page of another origin could still make the request. Refuse it.
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (request.method === 'POST' && origin !== undefined && !origins.has(origin)) {
      return reply.code(403).send({ error: `origin ${origin} is not one this codec server answers (its --origin list)` });
    }
  });

  const handle = (direction: 'encode' | 'decode') =>
    app.post(`/${direction}`, async (request, reply) => {
      const namespace = request.headers['x-namespace'];
      if (options.namespaces && (typeof namespace !== 'string' || !options.namespaces.includes(namespace))) {
        return reply.code(403).send({ error: `namespace ${String(namespace ?? '(no X-Namespace header)')} is not one this codec server serves` });
      }
      const body = PayloadsBody.safeParse(request.body);
      if (!body.success)
        return reply.code(400).send({ error: `want {"payloads": [{"metadata": {...}, "data": "<base64>"}]}: ${body.error.issues[0]?.message ?? ''}` });
      try {
        const payloads = await codec[direction](body.data.payloads.map(fromJson));
        return { payloads: payloads.map(toJson) };
      } catch (err) {
        if (err instanceof HistoryDecryptionError) return reply.code(422).send({ error: err.message });
        throw err;
      }
    });
  handle('encode');
  handle('decode');
  app.get('/health', async () => ({ status: 'ok', keyIds: [...options.ring.keys.keys()] }));
  return app;
}
