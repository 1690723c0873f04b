// What checking a signed decision costs: the incident verifies each decision's
// Ed25519 signature (workflows/decision-signature.ts) in its workflow task, and
// the receiver signs one per click or API call. Prints the mean of each over --runs.
//
//   npm run bench -- decision-signature [--runs 500]
import { parseArgs } from 'node:util';
import { newSigningKey, refuseSignature, signDecision, type SignedDecision } from '../workflows/decision-signature.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '500' } } });
const runs = Math.max(1, Number(values.runs) || 500);
const key = { keyId: 'receiver-1', ...newSigningKey() };
const keys = { [key.keyId]: key.publicKey };
const decision: SignedDecision = { actionKey: 'incident/local/default/agent-native-framework/run/action-1', decision: 'approve', by: 'alice' };
const now = Date.now();
const expires = new Date(now + 5 * 60_000);

function mean(fn: () => unknown): number {
  fn(); // the first call builds the curve's tables
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return (performance.now() - t0) / runs;
}

const signature = signDecision(key, decision, expires);
const sign = mean(() => signDecision(key, decision, expires));
const verify = mean(() => refuseSignature(keys, decision, signature, now));
const forged = mean(() => refuseSignature(keys, { ...decision, by: 'mallory' }, signature, now));
console.log(`runs: ${runs} (Node ${process.version})`);
console.log(`sign (receiver):            ${sign.toFixed(2)} ms`);
console.log(`verify, valid (workflow):   ${verify.toFixed(2)} ms`);
console.log(`verify, forged (workflow):  ${forged.toFixed(2)} ms`);
