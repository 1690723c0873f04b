// The receiver's spool (RECEIVER_SPOOL_DIR): a webhook is answered 200 once its
// deliveries are on disk, and a forwarder sends them to Temporal behind the answer.
// Alertmanager then waits for a disk write, not for a signal round trip through a
// busy Temporal, and alerts keep being accepted while Temporal restarts.
//
// Durability: one append-only log, `spool.log`, in the directory. A delivery is
// written and fsynced before the 200 (writes that arrive together share one fsync);
// once Temporal has it, a `done` line is written and fsynced before the next
// delivery of the same incident is sent. A restart sends again whatever has no
// `done` line, in order, so a crash repeats at most the last delivery of an incident
// (which the incident takes as the duplicate it is), and never sends a resolve after
// the firing that followed it. The log is rewritten with only what is pending when
// it grows past its limit, and emptied whenever nothing is pending.
//
// What Temporal refuses (the same delivery would be refused again) is dropped with an
// error in the log and counted; what fails otherwise (Temporal unreachable) is tried
// again with backoff, holding that incident's later deliveries behind it.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fold } from './coalesce.js';
import type { ServiceDelivery } from './alertmanager.js';
import { TemporalRefusedError, type IncidentGateway } from './gateway.js';

export interface SpoolOptions {
  dir: string;
  /** Deliveries held at most; past it a webhook gets a 503 (Alertmanager retries). Default 100,000. */
  maxPending?: number;
  /** The log is rewritten with only what is pending past this size (default 64 MiB). */
  compactBytes?: number;
  /** Backoff between attempts for one incident: from `retryMs` (default 500 ms) doubling to `maxRetryMs` (default 30 s). */
  retryMs?: number;
  maxRetryMs?: number;
  log: Logger;
  now?: () => number;
}

/** The spool holds its maximum: the webhook is not recorded (503, Alertmanager retries). */
export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

interface Entry {
  seq: number;
  acceptedAt: number;
  delivery: ServiceDelivery;
}

/** A line of the log: a delivery accepted, or deliveries done (sent) or dropped (refused). */
type Line = { s: number; t: number; d: ServiceDelivery } | { done: number[] } | { dropped: number[]; reason: string };

export interface SpoolStats {
  pending: number;
  oldestPendingSeconds: number;
  delivered: number;
  dropped: number;
  retries: number;
}

export class DeliverySpool {
  private readonly lanes = new Map<string, Entry[]>();
  private readonly running = new Set<string>();
  private readonly writes: { lines: string[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private compactRequested = false;
  private seq = 0;
  private pending = 0;
  private bytes = 0;
  private closed = false;
  private readonly counts = { delivered: 0, dropped: 0, retries: 0 };
  private readonly maxPending: number;
  private readonly compactBytes: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly now: () => number;
  private readonly path: string;

  private constructor(
    private readonly gateway: IncidentGateway,
    private readonly options: SpoolOptions,
    private file: FileHandle,
  ) {
    this.maxPending = options.maxPending ?? 100_000;
    this.compactBytes = options.compactBytes ?? 64 * 1024 * 1024;
    this.retryMs = options.retryMs ?? 500;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.path = join(options.dir, 'spool.log');
  }

  /** Opens the spool in `options.dir` (created if absent) and starts sending what a previous run left pending. */
  static async open(gateway: IncidentGateway, options: SpoolOptions): Promise<DeliverySpool> {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const path = join(options.dir, 'spool.log');
    const left = existsSync(path) ? readPending(readFileSync(path, 'utf8'), options.log) : [];
    // Start from a log of only what is pending: the old one is replaced in one rename.
    writeAtomically(path, left.map((e) => `${JSON.stringify({ s: e.seq, t: e.acceptedAt, d: e.delivery } satisfies Line)}\n`).join(''));
    const spool = new DeliverySpool(gateway, options, await open(path, 'a', 0o600));
    spool.seq = left.reduce((max, e) => Math.max(max, e.seq), 0);
    for (const e of left) spool.enqueue(e);
    if (left.length > 0) options.log.warn({ pending: left.length, dir: options.dir }, 'spool: sending the deliveries a previous run left pending');
    return spool;
  }

  /**
   * Writes the deliveries to disk (fsynced) and queues them for Temporal; resolves once they are durable,
   * with each one's result. A delivery the incident already has, while nothing of that incident waits
   * in the spool, is not written: 'duplicate' (with something waiting, a repeated resolve may not be one).
   */
  async accept(all: ServiceDelivery[]): Promise<('spooled' | 'duplicate')[]> {
    if (this.closed) throw new Error('the spool is closed');
    const results = all.map((d) => (!this.lanes.has(d.workflowId) && this.gateway.alreadyHas?.(d) ? 'duplicate' : 'spooled'));
    const deliveries = all.filter((_, i) => results[i] === 'spooled');
    if (deliveries.length === 0) return results;
    if (this.pending + deliveries.length > this.maxPending) {
      throw new SpoolFullError(`the spool holds ${this.pending} deliveries not yet in Temporal (RECEIVER_SPOOL_MAX ${this.maxPending}): retry later`);
    }
    const acceptedAt = this.now();
    const entries = deliveries.map((delivery) => ({ seq: ++this.seq, acceptedAt, delivery }));
    await this.append(entries.map((e) => JSON.stringify({ s: e.seq, t: e.acceptedAt, d: e.delivery } satisfies Line)));
    for (const e of entries) this.enqueue(e);
    return results;
  }

  stats(): SpoolStats {
    let oldest = Infinity;
    for (const lane of this.lanes.values()) oldest = Math.min(oldest, lane[0]?.acceptedAt ?? Infinity);
    return { pending: this.pending, oldestPendingSeconds: oldest === Infinity ? 0 : Math.max(0, (this.now() - oldest) / 1000), ...this.counts };
  }

  /** Room for more: a webhook would be accepted now. */
  hasRoom(): boolean {
    return !this.closed && this.pending < this.maxPending;
  }

  /** Stops sending (what is pending stays on disk for the next run) once the writes in flight are done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.file.close();
  }

  private enqueue(e: Entry): void {
    const lane = this.lanes.get(e.delivery.workflowId);
    if (lane) lane.push(e);
    else this.lanes.set(e.delivery.workflowId, [e]);
    this.pending++;
    if (!this.running.has(e.delivery.workflowId)) {
      this.running.add(e.delivery.workflowId);
      void this.forward(e.delivery.workflowId);
    }
  }

  /** Sends one incident's deliveries in order, as few signals as they fold into, until none is left. */
  private async forward(workflowId: string): Promise<void> {
    let attempt = 0;
    try {
      for (;;) {
        const lane = this.lanes.get(workflowId) ?? [];
        if (this.closed || lane.length === 0) return;
        const { taken, delivery } = this.nextGroup(lane);
        const seqs = taken.map((e) => e.seq);
        try {
          await this.gateway.deliver(delivery);
          // Closing: no `done` line; the next run sends it again, which the incident takes as a duplicate.
          if (this.closed) return;
          await this.append([JSON.stringify({ done: seqs } satisfies Line)]);
          this.counts.delivered += taken.length;
        } catch (err) {
          if (!(err instanceof TemporalRefusedError)) {
            if (this.closed) return;
            attempt++;
            this.counts.retries++;
            if (attempt === 1 || attempt % 10 === 0) {
              this.options.log.warn(
                { err: errorText(err), workflowId, attempt, pending: this.pending },
                'spool: Temporal did not take a delivery; trying again',
              );
            }
            await new Promise((r) => setTimeout(r, Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(attempt - 1, 16))));
            continue;
          }
          this.options.log.error(
            { err: err.message, workflowId, alerts: taken.length },
            'spool: Temporal refused a delivery; dropped (the same would be refused again)',
          );
          await this.append([JSON.stringify({ dropped: seqs, reason: err.message.slice(0, 300) } satisfies Line)]);
          this.counts.dropped += taken.length;
        }
        attempt = 0;
        lane.splice(0, taken.length);
        this.pending -= taken.length;
        if (lane.length === 0) this.lanes.delete(workflowId);
        await this.compactIfDue();
      }
    } catch (err) {
      // The disk failed under a `done` line: leave the rest for the next run rather than send out of order.
      this.options.log.error({ err: errorText(err), workflowId }, 'spool: could not record a delivery as sent; the rest of this incident waits for a restart');
    } finally {
      this.running.delete(workflowId);
    }
  }

  /** The lane's first deliveries folded into one, as far as one signal can carry them (coalesce.ts fold). */
  private nextGroup(lane: Entry[]): { taken: Entry[]; delivery: ServiceDelivery } {
    const first = lane[0] as Entry;
    let delivery = first.delivery;
    let n = 1;
    for (; n < lane.length; n++) {
      const next = fold(delivery, (lane[n] as Entry).delivery);
      if (!next || this.gateway.check(next).length > 0) break;
      delivery = next;
    }
    return { taken: lane.slice(0, n), delivery };
  }

  /** Appends lines; lines that arrive while a write is in flight share the next fsync. */
  private append(lines: string[]): Promise<void> {
    if (this.closed && this.flushing === undefined) return Promise.reject(new Error('the spool is closed'));
    return new Promise((resolve, reject) => {
      this.writes.push({ lines, resolve, reject });
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    });
  }

  /** The one writer: batches of lines, and the log's rewrite between two batches. */
  private async flush(): Promise<void> {
    while (this.writes.length > 0 || this.compactRequested) {
      if (this.compactRequested) {
        this.compactRequested = false;
        await this.rewrite();
      }
      const batch = this.writes.splice(0);
      if (batch.length === 0) continue;
      const text = batch.map((w) => w.lines.map((l) => `${l}\n`).join('')).join('');
      try {
        await this.file.appendFile(text);
        await this.file.datasync();
        this.bytes += Buffer.byteLength(text);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }

  /** Empties the log when nothing is pending, or rewrites it with only the pending when it has grown past its limit. */
  private async compactIfDue(): Promise<void> {
    if (this.closed || this.bytes < (this.pending === 0 ? 1024 * 1024 : this.compactBytes)) return;
    this.compactRequested = true;
    await (this.flushing ??= this.flush().finally(() => (this.flushing = undefined)));
  }

  /** The log replaced by the pending deliveries only (in the writer, so no append races it). */
  private async rewrite(): Promise<void> {
    const entries = [...this.lanes.values()].flat().sort((a, b) => a.seq - b.seq);
    const text = entries.map((e) => `${JSON.stringify({ s: e.seq, t: e.acceptedAt, d: e.delivery } satisfies Line)}\n`).join('');
    await this.file.close();
    try {
      writeAtomically(this.path, text);
      this.bytes = Buffer.byteLength(text);
    } catch (err) {
      this.options.log.error({ err: errorText(err) }, 'spool: could not rewrite the log; it keeps growing');
    }
    this.file = await open(this.path, 'a', 0o600);
  }
}

/** The deliveries of a log without a done or dropped line, in the order they were accepted. */
export function readPending(text: string, log: Logger): Entry[] {
  const accepted = new Map<number, Entry>();
  let torn = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      // A line cut by a crash mid-write was never answered 200: nothing to send.
      torn++;
      continue;
    }
    if ('s' in line) accepted.set(line.s, { seq: line.s, acceptedAt: line.t, delivery: line.d });
    else for (const seq of 'done' in line ? line.done : line.dropped) accepted.delete(seq);
  }
  if (torn > 0) log.warn({ torn }, 'spool: skipped lines cut short by a crash (never acknowledged to Alertmanager)');
  return [...accepted.values()].sort((a, b) => a.seq - b.seq);
}

/** Replaces `path` with `text`: a temporary file fsynced, renamed over it, and the directory fsynced. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
