// The history codec on its own: what it seals opens again exactly, under the key
// that sealed it, after a rotation too; an altered or relabelled payload, or one
// whose key this process lacks, fails with a message that says which key is
// needed; payloads written before encryption pass through; the keys' own
// configuration errors never echo a key.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { HistoryEncryptionCodec, HistoryDecryptionError, maxSealingOverheadBytes } from '../../codec/encryption-codec.js';
import { HistoryKeyError, newHistoryKey, parseHistoryKeys } from '../../codec/history-keys.js';
import { staticSummaryBudget } from '../../workflows/render.js';

const k1 = newHistoryKey('k1');
const k2 = newHistoryKey('k2');
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const sizeOf = (p: Payload) => (p.data?.length ?? 0) + Object.entries(p.metadata ?? {}).reduce((n, [k, v]) => n + k.length + (v?.length ?? 0), 0);

describe('the history codec', () => {
  it('opens exactly what it sealed, for any value, and the sealed bytes hold none of it', async () => {
    const codec = new HistoryEncryptionCodec(parseHistoryKeys(k1));
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.uuid(), async (value, marker) => {
        const plain = defaultPayloadConverter.toPayload({ value, marker });
        const [sealed] = await codec.encode([plain]);
        expect(text(sealed?.metadata?.encoding)).toBe('binary/encrypted');
        expect(text(sealed?.metadata?.['encryption-key-id'])).toBe('k1');
        expect(Buffer.from(sealed?.data ?? []).includes(Buffer.from(marker))).toBe(false);
        const [opened] = await codec.decode([sealed as Payload]);
        // What the JSON payload converter itself gives back (it writes -0 as 0).
        expect(defaultPayloadConverter.fromPayload(opened as Payload)).toEqual(JSON.parse(JSON.stringify({ value, marker })));
      }),
      { numRuns: 200 },
    );
  });

  it('after a rotation, seals with the new key and still opens what the old one sealed', async () => {
    const before = new HistoryEncryptionCodec(parseHistoryKeys(k1));
    const after = new HistoryEncryptionCodec(parseHistoryKeys(`${k2},${k1}`));
    const [old] = await before.encode([defaultPayloadConverter.toPayload('written under k1')]);
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload('written under k2')]);
    expect(text(fresh?.metadata?.['encryption-key-id'])).toBe('k2');
    const opened = await after.decode([old as Payload, fresh as Payload]);
    expect(opened.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written under k1', 'written under k2']);
    // The old ring alone cannot open the new payload, and says which key it needs.
    await expect(before.decode([fresh as Payload])).rejects.toThrow(
      /encrypted with history key 'k2', which this process does not have \(it has k1\): add it to INCIDENT_HISTORY_KEYS/,
    );
  });

  it('refuses a payload altered by one bit, relabelled to another key, or cut short', async () => {
    const ring = parseHistoryKeys(`${k1},${k2}`);
    const codec = new HistoryEncryptionCodec(ring);
    const [sealed] = (await codec.encode([defaultPayloadConverter.toPayload({ replicas: 4 })])) as [Payload];
    const flipped = Buffer.from(sealed.data ?? []);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...sealed, data: flipped }])).rejects.toThrow(HistoryDecryptionError);
    await expect(codec.decode([{ ...sealed, metadata: { ...sealed.metadata, 'encryption-key-id': Buffer.from('k2') } }])).rejects.toThrow(
      /failed its integrity check under history key 'k2'/,
    );
    await expect(codec.decode([{ ...sealed, data: Buffer.alloc(10) }])).rejects.toThrow(/truncated/);
  });

  it('reads payloads written before encryption was turned on as they are', async () => {
    const codec = new HistoryEncryptionCodec(parseHistoryKeys(k1));
    const plain = defaultPayloadConverter.toPayload({ phase: 'investigating' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it("keeps the longest UI summary within Temporal's 400 bytes once sealed", async () => {
    const longestId = 'k'.repeat(32);
    const codec = new HistoryEncryptionCodec(parseHistoryKeys(newHistoryKey(longestId)));
    const summary = defaultPayloadConverter.toPayload('é'.repeat(staticSummaryBudget / 2));
    const [sealed] = (await codec.encode([summary])) as [Payload];
    expect(sizeOf(sealed) - sizeOf(summary)).toBeLessThanOrEqual(maxSealingOverheadBytes);
    expect(sizeOf(sealed)).toBeLessThanOrEqual(400);
  });

  it('says what is wrong with a key list without echoing any key', () => {
    const secret = Buffer.alloc(31, 7).toString('base64');
    const cases: [string, RegExp][] = [
      ['', /is empty/],
      [`=${secret}`, /entry 1 has no key ID/],
      [`short=${secret}`, /key 'short' is not 32 bytes in base64/],
      [`${k1},${k1}`, /key ID 'k1' is given twice/],
      [`${'x'.repeat(33)}=${secret}`, /entry 1 has no key ID/],
    ];
    for (const [input, message] of cases) {
      let error: unknown;
      try {
        parseHistoryKeys(input);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(HistoryKeyError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).not.toContain(k1.split('=')[1]);
    }
    const ring = parseHistoryKeys(`${k2}\n${k1}\n`);
    expect(ring.current.id).toBe('k2');
    expect([...ring.keys.keys()]).toEqual(['k2', 'k1']);
  });
});
