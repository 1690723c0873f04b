// Signed decisions, as the incident checks them: what the channel signed verifies,
// and a change to any one signed field (or the key, or the clock) does not.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { maxSignatureLifetimeMs, newSigningKey, publicKeyOf, refuseSignature, signDecision, type SignedDecision } from '../../workflows/decision-signature.js';

const channel = { keyId: 'receiver-1', ...newSigningKey() };
const keys = { [channel.keyId]: channel.publicKey };
const now = Date.parse('2026-12-01T08:00:00Z');
const decisionArb = fc.record({
  actionKey: fc.string({ minLength: 1, maxLength: 80 }),
  decision: fc.constantFrom('approve' as const, 'reject' as const),
  by: fc.string({ minLength: 1, maxLength: 40 }),
  comment: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
});

describe('decision signatures', () => {
  it('verify exactly what was signed, and nothing that differs in one field', () => {
    fc.assert(
      fc.property(decisionArb, decisionArb, fc.integer({ min: 1, max: maxSignatureLifetimeMs }), (d, other, lifetime) => {
        const signature = signDecision(channel, d, new Date(now + lifetime));
        expect(refuseSignature(keys, d, signature, now)).toBeUndefined();
        for (const field of ['actionKey', 'decision', 'by', 'comment'] as const) {
          if ((other[field] ?? '') === (d[field] ?? '')) continue;
          const changed: SignedDecision = { ...d, [field]: other[field] };
          expect(refuseSignature(keys, changed, signature, now)).toBe('its signature does not match this action, decision, approver and comment');
        }
        // Moving the expiry (it is signed too) breaks it.
        const later = { ...signature, expiresAt: new Date(now + lifetime + 1000).toISOString() };
        expect(refuseSignature(keys, d, later, now)).toMatch(/does not match|longer than/);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses an unsigned, malformed, expired, too long-lived or unknown-key signature, saying which', () => {
    const d: SignedDecision = { actionKey: 'incident/a/b/c/run/action-1', decision: 'approve', by: 'alice' };
    const valid = signDecision(channel, d, new Date(now + 60_000));
    expect(refuseSignature(keys, d, undefined, now)).toBe('it is not signed');
    expect(refuseSignature(keys, d, { ...valid, value: 'zz' }, now)).toBe('its signature is malformed');
    expect(refuseSignature(keys, d, 'a string', now)).toBe('its signature is malformed');
    expect(refuseSignature(keys, d, valid, now + 60_000)).toBe(`its signature expired at ${valid.expiresAt}`);
    const long = signDecision(channel, d, new Date(now + maxSignatureLifetimeMs + 1));
    expect(refuseSignature(keys, d, long, now)).toMatch(/longer than the 10 minutes allowed/);
    expect(refuseSignature({}, d, valid, now)).toMatch(/signed with key "receiver-1", which this worker does not know/);
    // Not a point on the curve: refused, not thrown.
    expect(refuseSignature({ [channel.keyId]: 'f'.repeat(64) }, d, valid, now)).toBe(
      'its signature does not match this action, decision, approver and comment',
    );
    expect(publicKeyOf(channel.secretKey)).toBe(channel.publicKey);
  });
});
