// The game day's chaos: SIGKILL of the worker at chosen points of an incident
// (during the investigation, right after an approval, in the middle of the
// apply, during verification, in the middle of the monitor, while handed over,
// during the post-incident follow-up), and a stop or a kill of the Temporal dev
// server, which the supervisor restarts on its same database. Each kill waits
// for its point, seen from outside: the workflow's pending activities and the
// worker running them (Temporal's describe), its IncidentPhase, and the
// sandbox's audit log for the moment the change is written. A point the
// incident went past before the monkey saw it is hit late, at whatever runs
// then, and recorded as such. Seeded: the same seed plans the same kills.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Sandbox } from '../../sandbox/index.js';
import type { SupervisedProcess } from '../processes.js';
import { isOpen, viewWorkflow, type WorkflowView } from './observe.js';
import type { ExpectedOutcome } from './scenarios.js';

export type ChaosPoint = 'investigation' | 'after-approval' | 'mid-apply' | 'verify' | 'monitor' | 'handed-over' | 'follow-up';

/** Points in the order an incident passes them. */
export const pointOrder: readonly ChaosPoint[] = ['investigation', 'after-approval', 'mid-apply', 'verify', 'monitor', 'handed-over', 'follow-up'];

const pointsFor: Record<ExpectedOutcome, readonly ChaosPoint[]> = {
  recovered: ['investigation', 'after-approval', 'mid-apply', 'verify', 'monitor', 'follow-up'],
  'handed-over': ['investigation', 'handed-over', 'follow-up'],
};

/** Where a Temporal restart may fall: long enough phases that the incident is mid-way. */
const restartPointsFor: Record<ExpectedOutcome, readonly ChaosPoint[]> = {
  recovered: ['investigation', 'monitor', 'follow-up'],
  'handed-over': ['investigation', 'handed-over', 'follow-up'],
};

export interface ChaosEvent {
  target: 'worker' | 'temporal';
  signal: 'SIGKILL' | 'SIGTERM';
  point: ChaosPoint;
  /** Wait this long after the point is reached (spreads kills over the monitor). */
  delayMs: number;
}

export interface ChaosRecord {
  scenario: string;
  target: 'worker' | 'temporal';
  signal: string;
  planned: ChaosPoint;
  /** What was going on when it fired: the point, or what ran instead when the point had passed. */
  landed?: string;
  at?: string;
  /** Seconds until the process served again. */
  backAfterSeconds?: number;
  /** Why it did not fire. */
  missed?: string;
}

/** A small seeded generator (mulberry32): the same seed, the same plan. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

/**
 * The kills of one scenario: `kills` worker kills at distinct points where there
 * are enough (then some twice), and a Temporal restart if asked, in incident order.
 */
export function planChaos(
  random: () => number,
  outcome: ExpectedOutcome,
  options: { kills: number; temporalRestart?: 'SIGTERM' | 'SIGKILL'; monitorMs: number },
): ChaosEvent[] {
  const points = [...pointsFor[outcome]];
  for (let i = points.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [points[i], points[j]] = [points[j] as ChaosPoint, points[i] as ChaosPoint];
  }
  const chosen = points.slice(0, options.kills);
  while (chosen.length < options.kills) chosen.push(pick(random, pointsFor[outcome]));
  const delay = (point: ChaosPoint) => (point === 'monitor' ? Math.floor(random() * options.monitorMs * 0.5) : 0);
  const events: ChaosEvent[] = chosen.map((point) => ({ target: 'worker', signal: 'SIGKILL', point, delayMs: delay(point) }));
  if (options.temporalRestart) {
    const point = pick(random, restartPointsFor[outcome]);
    events.push({ target: 'temporal', signal: options.temporalRestart, point, delayMs: delay(point) });
  }
  const rank = (e: ChaosEvent) => pointOrder.indexOf(e.point) * 2 + (e.target === 'temporal' ? 1 : 0);
  return events.sort((a, b) => rank(a) - rank(b));
}

export interface ChaosScene {
  scenario: string;
  client: Client;
  workflowId: string;
  /** The post-incident workflow the incident started, once it has closed (undefined before). */
  followUpId: () => Promise<string | undefined>;
  sandbox: Sandbox;
  /** Audit entries before this incident: its writes come after. */
  auditFrom: number;
  /** Where the follow-up's messages land (chat.jsonl), and the incident's reference its summaries carry. */
  outboxDir: string;
  incidentRef: string;
  worker: SupervisedProcess;
  temporal: SupervisedProcess;
  /** The driver saw the incident handed over to people. */
  handedOver: () => boolean;
  say: (line: string) => void;
}

/** The investigation's reads (workflows/incident.ts investigate()), by activity type: the bench reads its milestones by them too. */
export const investigationActivities: ReadonlySet<string> = new Set([
  'inspectWorkload',
  'collectLogs',
  'inspectResources',
  'inspectConfiguration',
  'checkDependencies',
  'checkServiceHealth',
  'recentEvents',
]);

/** One scenario's chaos, running beside the driver until finish(). */
export class ChaosMonkey {
  readonly records: ChaosRecord[] = [];
  private cancelled = false;
  private done = 0;
  private readonly loop: Promise<void>;

  constructor(
    private readonly scene: ChaosScene,
    private readonly events: readonly ChaosEvent[],
  ) {
    this.loop = this.run();
  }

  /** Resolves once every event planned at or before `point` has fired (or been given up), or after `timeoutMs`. */
  async reached(point: ChaosPoint, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const upTo = pointOrder.indexOf(point);
    while (Date.now() < deadline && !this.cancelled) {
      const next = this.events[this.done];
      if (!next || pointOrder.indexOf(next.point) > upTo) return;
      await sleep(100);
    }
  }

  /** Stops waiting for points not reached, and waits until what was killed serves again. */
  async finish(): Promise<ChaosRecord[]> {
    this.cancelled = true;
    await this.loop;
    return this.records;
  }

  private async run(): Promise<void> {
    for (const event of this.events) {
      const record: ChaosRecord = { scenario: this.scene.scenario, target: event.target, signal: event.signal, planned: event.point };
      this.records.push(record);
      try {
        await this.serving();
        const landed = this.cancelled ? undefined : await this.waitForPoint(event);
        if (landed === undefined) {
          record.missed = 'the incident and its follow-up were over before this point';
        } else {
          await this.fire(event, record, landed);
        }
      } catch (err) {
        record.missed = `chaos failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      this.done += 1;
    }
  }

  private async fire(event: ChaosEvent, record: ChaosRecord, landed: string): Promise<void> {
    const target = event.target === 'worker' ? this.scene.worker : this.scene.temporal;
    const victim = target.pid;
    record.landed = landed;
    record.at = new Date().toISOString();
    const what = event.target === 'worker' ? `the worker (pid ${victim ?? '?'})` : `the Temporal dev server (pid ${victim ?? '?'})`;
    this.scene.say(`chaos: ${event.signal === 'SIGKILL' ? 'SIGKILL' : 'stopping (SIGTERM)'} ${what} at ${landed}`);
    const killedAt = Date.now();
    target.kill(event.signal);
    // Wait for the old process to be gone, then for the supervisor's new one to serve.
    while (target.pid === victim && target.alive) await sleep(50);
    await this.serving();
    record.backAfterSeconds = Math.round((Date.now() - killedAt) / 100) / 10;
  }

  /** Both the dev server and the worker serve (the supervisor restarts them). */
  private async serving(): Promise<void> {
    await this.scene.temporal.running(180_000);
    await this.scene.worker.running(180_000);
  }

  private chatRead = 0;
  private chatPartial = '';
  private noticeSeen = false;

  /**
   * Whether the follow-up's first message (its task list) is in the outbox: read
   * from the chat file as it grows, so that a kill can fall between that write and
   * the activity reporting it, the window in which a retry would deliver it again.
   */
  private followUpNotice(): boolean {
    if (this.noticeSeen) return true;
    const file = join(this.scene.outboxDir, 'chat.jsonl');
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return false;
    }
    if (size <= this.chatRead) return false;
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.chatRead);
      readSync(fd, buffer, 0, buffer.length, this.chatRead);
      this.chatRead = size;
      const lines = (this.chatPartial + buffer.toString('utf8')).split('\n');
      this.chatPartial = lines.pop() ?? '';
      this.noticeSeen = lines.some((l) => l.includes('"event":"post-incident') && l.includes(this.scene.incidentRef));
    } finally {
      closeSync(fd);
    }
    return this.noticeSeen;
  }

  private incidentWrites(): number {
    const prefix = `${this.scene.workflowId}/`;
    return this.scene.sandbox
      .audit()
      .slice(this.scene.auditFrom)
      .filter((e) => !e.dryRun && e.idempotencyKey?.startsWith(prefix)).length;
  }

  /** Waits for the event's point; returns what was going on then, or undefined once nothing is left to hit. */
  private async waitForPoint(event: ChaosEvent): Promise<string | undefined> {
    const writesAtStart = this.incidentWrites();
    const noticeAtStart = event.point === 'follow-up' ? this.followUpNotice() : undefined;
    let view: WorkflowView | undefined;
    let followUp: WorkflowView | undefined;
    let viewedAt = 0;
    let reachedAt: number | undefined;
    let reachedAs = '';
    for (;;) {
      if (this.cancelled) return undefined;
      // The approval and the apply take a fraction of a second: look closely while waiting for them.
      const every = event.point === 'after-approval' || event.point === 'mid-apply' || event.point === 'verify' ? 40 : 150;
      if (Date.now() - viewedAt > every) {
        viewedAt = Date.now();
        view = await viewWorkflow(this.scene.client, this.scene.workflowId);
        const followUpId = view && !isOpen(view) ? await this.scene.followUpId() : undefined;
        followUp = followUpId ? await viewWorkflow(this.scene.client, followUpId) : undefined;
      }
      const workerTag = `${this.scene.worker.pid ?? -1}@`;
      const runningHere = (types: (t: string) => boolean) =>
        view?.pending.some((a) => types(a.type) && a.state === 'started' && a.worker?.startsWith(workerTag)) ?? false;
      const stage = stageOf(view, followUp, this.scene.handedOver());
      if (stage === 'over') return undefined;
      if (reachedAt === undefined) {
        let hit = false;
        switch (event.point) {
          case 'investigation':
            hit = runningHere((t) => investigationActivities.has(t));
            break;
          case 'after-approval':
            hit = (view?.pending.some((a) => a.type === 'applyMutation') ?? false) || view?.phase === 'mitigating';
            break;
          case 'mid-apply':
            // Polled every 25 ms in this process: the write has just reached the API; the activity may not have reported it yet.
            hit = this.incidentWrites() > writesAtStart;
            break;
          case 'verify':
            hit = view?.phase === 'verifying' || runningHere((t) => t === 'waitForRollout' || t === 'verifyRecovery');
            break;
          case 'monitor':
            hit = view?.phase === 'monitoring';
            break;
          case 'handed-over':
            hit = isOpen(view) && this.scene.handedOver();
            break;
          case 'follow-up':
            // The moment its first message is written; if that was before this kill was armed, while it runs.
            hit = noticeAtStart ? isOpen(followUp) : this.followUpNotice();
            break;
        }
        if (hit) {
          reachedAt = Date.now();
          reachedAs = describePoint(event.point, view, followUp);
        } else if (stage !== undefined && pointOrder.indexOf(stage) > pointOrder.indexOf(event.point)) {
          // Gone past it unseen: hit what runs now instead.
          return `${describePoint(stage, view, followUp)} (planned: ${event.point}, passed unseen)`;
        }
      }
      if (reachedAt !== undefined && (Date.now() - reachedAt >= event.delayMs || stage !== event.point)) {
        return event.delayMs > 0 ? `${reachedAs} +${((Date.now() - reachedAt) / 1000).toFixed(1)} s` : reachedAs;
      }
      // The write of a change or of the follow-up's message is over in milliseconds: look often.
      await sleep(event.point === 'mid-apply' || event.point === 'follow-up' ? 5 : 25);
    }
  }
}

/** Where the incident is, as a chaos point; 'over' once the incident and its follow-up have closed. */
function stageOf(view: WorkflowView | undefined, followUp: WorkflowView | undefined, handedOver: boolean): ChaosPoint | 'over' | undefined {
  if (!view) return undefined;
  if (!isOpen(view)) return followUp && followUp.status !== 'RUNNING' ? 'over' : 'follow-up';
  switch (view.phase) {
    case 'investigating':
      return 'investigation';
    case 'awaiting-approval':
      return handedOver ? 'handed-over' : 'after-approval';
    case 'mitigating':
      return 'mid-apply';
    case 'verifying':
      return 'verify';
    case 'monitoring':
      return 'monitor';
    case 'escalated':
      return 'handed-over';
    case 'resolved':
      return 'follow-up';
    default:
      return undefined;
  }
}

function describePoint(point: ChaosPoint, view: WorkflowView | undefined, followUp: WorkflowView | undefined): string {
  const running = (v: WorkflowView | undefined) => {
    const types = [...new Set((v?.pending ?? []).map((a) => `${a.type}${a.state === 'started' ? '' : ` (${a.state})`}`))];
    return types.length ? `: ${types.slice(0, 3).join(', ')}${types.length > 3 ? ', …' : ''}` : '';
  };
  return `${point}${running(point === 'follow-up' ? followUp : view)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The kill that falls between two copies of one delivery (`first` ≤ kill ≤ `second`):
 * the copy before it was written by the killed worker, whose activity was then retried.
 */
export function killBetween(records: readonly ChaosRecord[], first: string, second: string): ChaosRecord | undefined {
  const from = Date.parse(first);
  const to = Date.parse(second);
  return records.find((r) => r.at !== undefined && Date.parse(r.at) >= from && Date.parse(r.at) <= to);
}
