// The audit log: one entry per write that reached the Kubernetes API (including
// dry runs), with who made it and the idempotency key recorded on the object,
// so tests can prove each mutation happened exactly once. It holds names and
// keys only, never an object's content.
import type { KObject } from './types.js';

const idempotencyKeyAnnotation = 'incident-response.dev/idempotency-key';

export interface AuditEntry {
  time: string;
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
  user: string;
  fieldManager?: string;
  dryRun: boolean;
  idempotencyKey?: string;
}

const maxEntries = 100_000;

export class AuditLog {
  private readonly entries: AuditEntry[] = [];

  record(entry: Omit<AuditEntry, 'time' | 'idempotencyKey'>, written: KObject | undefined): void {
    const key = written?.metadata.annotations?.[idempotencyKeyAnnotation];
    const full: AuditEntry = { time: new Date().toISOString(), ...entry, ...(key !== undefined ? { idempotencyKey: key } : {}) };
    for (const k of Object.keys(full) as (keyof AuditEntry)[]) if (full[k] === undefined) delete full[k];
    this.entries.push(full);
    if (this.entries.length > maxEntries) this.entries.splice(0, this.entries.length - maxEntries);
  }

  all(): AuditEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
