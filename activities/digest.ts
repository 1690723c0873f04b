// SHA-256 of a value, in hex: how a value that must stay in the cluster is named
// in findings, approvals and history (a config value a restore will write).
import { createHash } from 'node:crypto';

export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A value named for people by its size and digest, never by more of it. */
export function fingerprintOf(value: string): string {
  return `${Buffer.byteLength(value, 'utf8')} bytes, sha256 ${sha256(value).slice(0, 12)}`;
}
