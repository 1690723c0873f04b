// The codec server as the Temporal Web UI calls it from a browser: a preflight
// from the UI's origin is allowed, /decode opens payloads sealed with its keys and
// /encode seals; a page of another origin, another namespace, a malformed body or a
// payload of a key it lacks each get a clear 4xx and nothing opened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { buildCodecServer } from '../../codec/codec-server.js';
import { HistoryEncryptionCodec } from '../../codec/encryption-codec.js';
import { newHistoryKey, parseHistoryKeys } from '../../codec/history-keys.js';

const ui = 'http://localhost:8233';
const ring = parseHistoryKeys(newHistoryKey('k1'));
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildCodecServer({ ring, origins: [ui], namespaces: ['default'] });
});
afterAll(async () => {
  await app?.close();
});

const asJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method: 'POST',
    url: path,
    headers: { origin: ui, 'x-namespace': 'default', 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, body: response.json<Record<string, unknown>>() };
}

describe('the codec server', () => {
  it("answers the UI's preflight, and opens what the workers sealed", async () => {
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/decode',
      headers: { origin: ui, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ui);
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/x-namespace/);

    const sealed = await new HistoryEncryptionCodec(ring).encode([defaultPayloadConverter.toPayload({ diagnosis: 'bad-rollout' })]);
    const decoded = await post('/decode', { payloads: sealed.map(asJson) });
    expect(decoded.status).toBe(200);
    expect(decoded.headers['access-control-allow-origin']).toBe(ui);
    const [opened] = (decoded.body.payloads as { metadata: Record<string, string>; data: string }[]).map(fromJson);
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toEqual({ diagnosis: 'bad-rollout' });
  });

  it('seals on /encode what it opens again on /decode', async () => {
    const encoded = await post('/encode', { payloads: [asJson(defaultPayloadConverter.toPayload('a note'))] });
    expect(encoded.status).toBe(200);
    const [sealed] = encoded.body.payloads as { metadata: Record<string, string>; data: string }[];
    expect(Buffer.from(sealed?.metadata.encoding ?? '', 'base64').toString()).toBe('binary/encrypted');
    const decoded = await post('/decode', { payloads: [sealed] });
    const [opened] = (decoded.body.payloads as { metadata: Record<string, string>; data: string }[]).map(fromJson);
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toBe('a note');
  });

  it('refuses a page of another origin, another namespace, a malformed body and a key it lacks, each with the reason', async () => {
    const sealed = (await new HistoryEncryptionCodec(ring).encode([defaultPayloadConverter.toPayload('secret-ish')])).map(asJson);
    const otherOrigin = await post('/decode', { payloads: sealed }, { origin: 'https://evil.example' });
    expect(otherOrigin.status).toBe(403);
    expect(otherOrigin.body.error).toMatch(/origin https:\/\/evil\.example is not one this codec server answers/);
    expect(JSON.stringify(otherOrigin.body)).not.toContain('secret-ish');

    const otherNamespace = await post('/decode', { payloads: sealed }, { 'x-namespace': 'payments' });
    expect(otherNamespace.status).toBe(403);
    const noNamespace = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { origin: ui, 'content-type': 'application/json' },
      payload: JSON.stringify({ payloads: sealed }),
    });
    expect(noNamespace.statusCode).toBe(403);
    expect(noNamespace.json<{ error: string }>().error).toMatch(/no X-Namespace header/);

    const malformed = await post('/decode', { payloads: [{ data: 'not base64!' }] });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/want \{"payloads"/);

    const foreign = (await new HistoryEncryptionCodec(parseHistoryKeys(newHistoryKey('k9'))).encode([defaultPayloadConverter.toPayload('x')])).map(asJson);
    const unknownKey = await post('/decode', { payloads: foreign });
    expect(unknownKey.status).toBe(422);
    expect(unknownKey.body.error).toMatch(/history key 'k9', which this process does not have/);
  });
});
