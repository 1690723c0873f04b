// What encrypting incident histories costs: every payload a worker or client
// writes is sealed (AES-256-GCM, codec/encryption-codec.ts) and every one it
// reads is opened. Prints the mean time per payload and the bytes added, for
// payloads of the sizes an incident writes (a signal, an investigation's
// findings, a large log excerpt).
//
//   npm run bench -- history-codec [--runs 2000]
import { parseArgs } from 'node:util';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { HistoryEncryptionCodec } from '../codec/encryption-codec.js';
import { newHistoryKey, parseHistoryKeys } from '../codec/history-keys.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' } } });
const runs = Math.max(1, Number(values.runs) || 2000);
const codec = new HistoryEncryptionCodec(parseHistoryKeys(`${newHistoryKey('k2')},${newHistoryKey('k1')}`));
const bytes = (p: Payload) => (p.data?.length ?? 0) + Object.entries(p.metadata ?? {}).reduce((n, [k, v]) => n + k.length + (v?.length ?? 0), 0);

async function mean(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  return (performance.now() - t0) / runs;
}

console.log(`runs: ${runs} (Node ${process.version})`);
console.log('payload            seal (µs)  open (µs)  bytes added');
for (const [name, size] of [
  ['1 KiB signal', 1024],
  ['16 KiB findings', 16 * 1024],
  ['256 KiB log excerpt', 256 * 1024],
] as const) {
  const plain = defaultPayloadConverter.toPayload({ text: 'x'.repeat(size) });
  const [sealed] = (await codec.encode([plain])) as [Payload];
  const seal = await mean(() => codec.encode([plain]));
  const open = await mean(() => codec.decode([sealed]));
  console.log(
    `${name.padEnd(19)}${(seal * 1000).toFixed(1).padStart(9)}  ${(open * 1000).toFixed(1).padStart(9)}  ${String(bytes(sealed) - bytes(plain)).padStart(11)}`,
  );
}
