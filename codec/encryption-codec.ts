// A PayloadCodec that keeps incident data out of Temporal in clear: every payload
// (workflow input and results, signals, updates, queries, activity arguments and
// results, memo, user metadata) is serialized and sealed with AES-256-GCM before it
// leaves the process. The key's ID rides in the payload's metadata, so a history
// written under an older key still opens after a rotation. What Temporal must read
// itself stays in clear: workflow IDs, search attributes, event types, timer and
// activity names. Failure messages and stack traces are sealed too, once keys are
// set: failure-converter.cjs moves them into a payload.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { HistoryKeyRing } from './history-keys.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
// The package is CommonJS: its namespace comes as the default export under Node's ESM.
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | null | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** A payload this process cannot open: which key it needs, and where keys are configured. */
export class HistoryDecryptionError extends Error {
  override name = 'HistoryDecryptionError';
}

/**
 * Without a ring, it seals nothing and opens nothing, but says so when it meets a
 * sealed payload (a process started without INCIDENT_HISTORY_KEYS beside workers
 * that have them) instead of the SDK's "Unknown encoding".
 */
export class HistoryEncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: HistoryKeyRing | undefined) {}

  /** True when payloads leave this process sealed. */
  get encrypts(): boolean {
    return this.ring !== undefined;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const ring = this.ring;
    return ring ? payloads.map((payload) => this.seal(ring, payload)) : payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.open(payload));
  }

  private seal(ring: HistoryKeyRing, payload: Payload): Payload {
    const { id, key } = ring.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    // The key ID is authenticated too: a payload relabelled to another key fails to open.
    cipher.setAAD(utf8.encode(id));
    const sealed = Buffer.concat([iv, cipher.update(PayloadMessage.encode(payload).finish()), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) },
      data: sealed,
    };
  }

  private open(payload: Payload): Payload {
    // Payloads written before encryption was turned on are read as they are.
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const id = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
    if (!this.ring) {
      throw new HistoryDecryptionError(
        `this incident's history is encrypted (history key '${id}') and this process has no history keys: set INCIDENT_HISTORY_KEYS (or INCIDENT_HISTORY_KEYS_FILE) as on the workers`,
      );
    }
    const key = this.ring.keys.get(id);
    if (!key) {
      throw new HistoryDecryptionError(
        `this payload is encrypted with history key '${id}', which this process does not have (it has ${[...this.ring.keys.keys()].join(', ')}): add it to INCIDENT_HISTORY_KEYS`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new HistoryDecryptionError(`an encrypted payload (key '${id}') is truncated: ${data.length} bytes`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(utf8.encode(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new HistoryDecryptionError(
        `an encrypted payload failed its integrity check under history key '${id}': it was altered, or the key with this ID is not the one it was written with`,
      );
    }
    return PayloadMessage.decode(plain);
  }
}

/**
 * The most a payload grows when sealed (IV, tag, the inner payload's framing and
 * metadata, the outer metadata with a key ID of at most 32 characters): what the
 * receiver adds before it compares a payload with Temporal's size limits.
 */
export const maxSealingOverheadBytes = 12 + 16 + 30 + ENCRYPTED_ENCODING.length + 'encoding'.length + KEY_ID_METADATA.length + 32;

/** The failure converter that puts messages and stack traces in a payload, by path: the SDK require()s it (the build copies it to dist/codec/). */
export const sealedFailureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** The data converter every worker and client of this deployment uses: sealing with the ring, or in clear without one. */
export function historyDataConverter(ring: HistoryKeyRing | undefined): DataConverter {
  return { payloadCodecs: [new HistoryEncryptionCodec(ring)], ...(ring ? { failureConverterPath: sealedFailureConverterPath } : {}) };
}
