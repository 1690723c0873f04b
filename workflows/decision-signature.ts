// Signed decisions: an approval channel that has established who a person is (the
// receiver's decisions API, with per-person tokens) signs exactly what they decided:
// which action of which incident, approve or reject, who, their comment, and until
// when the signature may be used. The incident verifies it with public keys from its
// worker's configuration (the approval policy), never from anything a caller of
// Temporal can set. Ed25519 (@noble/curves): pure JavaScript, deterministic, so the
// workflow verifies inside its sandbox. Signing happens only outside workflows.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/curves/utils.js';
import { z } from 'zod';

/** A signature may be used at most this long after it is made: a captured one goes stale fast. */
export const maxSignatureLifetimeMs = 10 * 60_000;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes as lower-case hex`);
export const KeyIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key ID of letters, digits, ".", "_" or "-" (at most 64)');
export const PublicKeySchema = hex(32);
export const SecretKeySchema = hex(32);

export const DecisionSignatureSchema = z.object({
  keyId: KeyIdSchema,
  expiresAt: z.iso.datetime(),
  value: hex(64),
});
export type DecisionSignature = z.infer<typeof DecisionSignatureSchema>;

/** What is signed: the action (its idempotency key names the incident, its first run and the action's number), the decision and who made it. */
export interface SignedDecision {
  actionKey: string;
  decision: 'approve' | 'reject';
  by: string;
  comment?: string | undefined;
}

function message(d: SignedDecision, keyId: string, expiresAt: string): Uint8Array {
  // A JSON array: every field in a fixed place, no separator a value could forge.
  return new TextEncoder().encode(JSON.stringify(['incident-decision/v1', d.actionKey, d.decision, d.by, d.comment ?? '', keyId, expiresAt]));
}

/** Signs a decision (the approval channel, never a workflow). */
export function signDecision(key: { keyId: string; secretKey: string }, d: SignedDecision, expiresAt: Date): DecisionSignature {
  const at = expiresAt.toISOString();
  return { keyId: key.keyId, expiresAt: at, value: bytesToHex(ed25519.sign(message(d, key.keyId, at), hexToBytes(key.secretKey))) };
}

/** A new key pair: the secret key for the approval channel, the public key for the workers. */
export function newSigningKey(): { secretKey: string; publicKey: string } {
  const { secretKey, publicKey } = ed25519.keygen();
  return { secretKey: bytesToHex(secretKey), publicKey: bytesToHex(publicKey) };
}

export function publicKeyOf(secretKey: string): string {
  return bytesToHex(ed25519.getPublicKey(hexToBytes(secretKey)));
}

/** Why `signature` does not prove decision `d` under `keys` at time `now`, or undefined when it does. */
export function refuseSignature(keys: Record<string, string>, d: SignedDecision, signature: unknown, now: number): string | undefined {
  if (signature === undefined) return 'it is not signed';
  const parsed = DecisionSignatureSchema.safeParse(signature);
  if (!parsed.success) return 'its signature is malformed';
  const { keyId, expiresAt, value } = parsed.data;
  const publicKey = keys[keyId];
  if (publicKey === undefined) return `it is signed with key "${keyId}", which this worker does not know (known: ${Object.keys(keys).join(', ')})`;
  const expires = Date.parse(expiresAt);
  if (expires <= now) return `its signature expired at ${expiresAt}`;
  if (expires - now > maxSignatureLifetimeMs)
    return `its signature is valid until ${expiresAt}, longer than the ${maxSignatureLifetimeMs / 60_000} minutes allowed`;
  let valid = false;
  try {
    valid = ed25519.verify(hexToBytes(value), message(d, keyId, expiresAt), hexToBytes(publicKey));
  } catch {
    valid = false;
  }
  return valid ? undefined : 'its signature does not match this action, decision, approver and comment';
}
