// The keys incident histories are encrypted with: INCIDENT_HISTORY_KEYS, a list of
// `<keyId>=<32 bytes in base64>`. The first key encrypts; every key listed decrypts,
// so a rotation adds the new key first and keeps the old ones for as long as any
// history written with them is kept (open incidents, their follow-ups, retention).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class HistoryKeyError extends Error {
  override name = 'HistoryKeyError';
}

export interface HistoryKeyRing {
  /** The key new payloads are encrypted with. */
  readonly current: { readonly id: string; readonly key: Buffer };
  /** Every key that decrypts, by ID (the current one too). */
  readonly keys: ReadonlyMap<string, Buffer>;
}

// Short: the ID rides in every payload, and a UI summary has 400 bytes in all.
const keyIdPattern = /^[A-Za-z0-9._-]{1,32}$/;

/** Parses `id=base64,id=base64` (commas or newlines); the first encrypts. Errors name the variable, never a key. */
export function parseHistoryKeys(text: string, variable = 'INCIDENT_HISTORY_KEYS'): HistoryKeyRing {
  const entries = text
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new HistoryKeyError(`${variable} is empty: give <keyId>=<32 bytes in base64> (\`incident history-key\` makes one)`);
  const keys = new Map<string, Buffer>();
  for (const [index, entry] of entries.entries()) {
    const at = entry.indexOf('=');
    const id = at > 0 ? entry.slice(0, at) : '';
    const key = Buffer.from(entry.slice(at + 1), 'base64');
    if (!keyIdPattern.test(id)) {
      throw new HistoryKeyError(
        `${variable}: entry ${index + 1} has no key ID (want <keyId>=<32 bytes in base64>; IDs are letters, digits, '.', '_' or '-', at most 32)`,
      );
    }
    if (key.length !== 32)
      throw new HistoryKeyError(`${variable}: key '${id}' is not 32 bytes in base64 (AES-256 wants 32; \`incident history-key\` makes one)`);
    if (keys.has(id)) throw new HistoryKeyError(`${variable}: key ID '${id}' is given twice`);
    keys.set(id, key);
  }
  const [id, key] = [...keys.entries()][0] as [string, Buffer];
  return { current: { id, key }, keys };
}

/** The ring from INCIDENT_HISTORY_KEYS or the file INCIDENT_HISTORY_KEYS_FILE names; undefined: histories are not encrypted. */
export function historyKeysFrom(env: {
  INCIDENT_HISTORY_KEYS?: string | undefined;
  INCIDENT_HISTORY_KEYS_FILE?: string | undefined;
}): HistoryKeyRing | undefined {
  if (env.INCIDENT_HISTORY_KEYS) return parseHistoryKeys(env.INCIDENT_HISTORY_KEYS);
  if (!env.INCIDENT_HISTORY_KEYS_FILE) return undefined;
  let text: string;
  try {
    text = readFileSync(env.INCIDENT_HISTORY_KEYS_FILE, 'utf8');
  } catch (err) {
    throw new HistoryKeyError(`INCIDENT_HISTORY_KEYS_FILE ${env.INCIDENT_HISTORY_KEYS_FILE}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseHistoryKeys(text, `INCIDENT_HISTORY_KEYS_FILE ${env.INCIDENT_HISTORY_KEYS_FILE}`);
}

/** A new key as one INCIDENT_HISTORY_KEYS entry; the ID defaults to today's date, so rotations sort. */
export function newHistoryKey(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  if (!keyIdPattern.test(id)) throw new HistoryKeyError(`key ID '${id}': letters, digits, '.', '_' or '-', at most 32`);
  return `${id}=${randomBytes(32).toString('base64')}`;
}
