// The remediation governor's rules as plain TypeScript (no Temporal): one cluster's
// change leases, its budget per window, freezes and the cooldown after an automatic
// fix. workflows/governor.ts wires signals, timers and continue-as-new around it.
// The state is plain JSON (arrays, no Map): it crosses continue-as-new whole.
import { z } from 'zod';
import type { Diagnosis } from '../diagnose.js';
import type { ServiceRef } from '../domain.js';
import { DurationSchema } from '../input.js';
import { formatDuration, iso } from '../units.js';

const minute = 60_000;

/**
 * A configured freeze window, UTC: `HH:MM-HH:MM` every day, `Sat HH:MM-HH:MM` on one
 * weekday (Mon..Sun; 24:00 ends at midnight), or an ISO interval `<start>/<end>`.
 */
export type FreezeWindow = { days?: number[]; from: number; to: number } | { start: number; end: number };

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function parseFreezeWindow(text: string): FreezeWindow | undefined {
  const t = text.trim();
  const interval = /^(\S+)\/(\S+)$/.exec(t);
  if (interval) {
    const start = Date.parse(interval[1] ?? '');
    const end = Date.parse(interval[2] ?? '');
    return Number.isFinite(start) && Number.isFinite(end) && end > start ? { start, end } : undefined;
  }
  const daily = /^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+)?(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(t);
  if (!daily) return undefined;
  const [, day, h1, m1, h2, m2] = daily;
  const from = Number(h1) * 60 + Number(m1);
  const to = Number(h2) * 60 + Number(m2);
  if (from >= to || to > 24 * 60 || Number(m1) > 59 || Number(m2) > 59) return undefined;
  return { ...(day ? { days: [weekdays.indexOf(day)] } : {}), from, to };
}

/** Whether `window` covers `now`; the end of the covering interval when it does. */
export function freezeWindowEnd(window: FreezeWindow, now: number): number | undefined {
  if ('start' in window) return now >= window.start && now < window.end ? window.end : undefined;
  const d = new Date(now);
  const minuteOfDay = d.getUTCHours() * 60 + d.getUTCMinutes();
  if (window.days && !window.days.includes(d.getUTCDay())) return undefined;
  if (minuteOfDay < window.from || minuteOfDay >= window.to) return undefined;
  return now + (window.to - minuteOfDay) * minute - d.getUTCSeconds() * 1000 - d.getUTCMilliseconds();
}

/**
 * The governor's policy: the worker's configuration (worker/config.ts, GOVERNOR_*),
 * never an incident's input. These defaults are the environment's defaults.
 */
export const GovernorPolicySchema = z.object({
  /** At most this many changes granted per window in the whole cluster. */
  maxChangesPerCluster: z.number().int().min(1).default(10),
  /** At most this many per window in one namespace. */
  maxChangesPerNamespace: z.number().int().min(1).default(5),
  window: DurationSchema.default(10 * minute),
  /** A service that needs a change again this soon after an automatic fix is handed to a person. */
  cooldown: DurationSchema.default(60 * minute),
  /** A lease whose holder never releases it (terminated, stuck) ends after this. */
  leaseTtl: DurationSchema.default(30 * minute),
  /** How long a request may wait in the queue (budget, a busy scope) before it is refused. */
  maxWait: DurationSchema.default(30 * minute),
  /** Configured change freezes (see parseFreezeWindow). */
  freezeWindows: z
    .array(z.string().refine((s) => parseFreezeWindow(s) !== undefined, 'HH:MM-HH:MM, "Sat HH:MM-HH:MM" (UTC) or <ISO start>/<ISO end>'))
    .default([]),
  /** The governor's run continues as new past this many history events. */
  continueAsNewAfterEvents: z.number().int().min(20).default(2_000),
});
export type GovernorPolicy = z.output<typeof GovernorPolicySchema>;
export type GovernorPolicyInput = z.input<typeof GovernorPolicySchema>;

const Service = z.object({ cluster: z.string().min(1), namespace: z.string().min(1), deployment: z.string().min(1) });

export const LeaseRequestSchema = z.object({
  /** The action's idempotency key: unique, and the same when the request is sent again. */
  id: z.string().min(1).max(500),
  /** The incident's workflow ID: the answer is signalled there. */
  holder: z.string().min(1).max(500),
  service: Service,
  /** What the change touches: `workload:<ns>/<deployment>`, `dependency:<name>` (leaseScopes). */
  scopes: z.array(z.string().min(1).max(300)).min(1).max(20),
  /** Approved by policy, not by a person: the cooldown applies. */
  automatic: z.boolean(),
  command: z.string().max(500),
  /** The worker's governor policy, adopted by the governor (the newest wins). */
  policy: GovernorPolicySchema.optional(),
});
export type LeaseRequest = z.input<typeof LeaseRequestSchema>;

export const LeaseReleaseSchema = z.object({
  id: z.string().min(1).max(500),
  holder: z.string().min(1).max(500),
  service: Service,
  automatic: z.boolean(),
  command: z.string().max(500),
  /** Whether the change reached the cluster (a failed apply starts no cooldown). */
  applied: z.boolean(),
  outcome: z.string().max(200),
});
export type LeaseRelease = z.input<typeof LeaseReleaseSchema>;

export const FreezeRequestSchema = z.object({
  by: z.string().trim().min(1).max(200),
  namespace: z.string().min(1).max(253).optional(),
  for: DurationSchema,
  reason: z.string().trim().min(1).max(500),
});
export type FreezeRequest = z.input<typeof FreezeRequestSchema>;

export const UnfreezeRequestSchema = z.object({ by: z.string().trim().min(1).max(200), namespace: z.string().min(1).max(253).optional() });
export type UnfreezeRequest = z.input<typeof UnfreezeRequestSchema>;

export type LeaseAnswer =
  | { id: string; holder: string; kind: 'granted'; reason: string; expiresAt: number }
  | { id: string; holder: string; kind: 'queued' | 'refused' | 'needs-person'; reason: string };

export interface Lease {
  id: string;
  holder: string;
  service: ServiceRef;
  scopes: string[];
  automatic: boolean;
  command: string;
  grantedAt: number;
  expiresAt: number;
}

interface Waiting {
  request: z.output<typeof LeaseRequestSchema>;
  requestedAt: number;
  /** The last reason the holder was told it waits for (told again only when it changes). */
  told?: string;
}

export interface Freeze {
  namespace?: string;
  by: string;
  reason: string;
  at: number;
  until: number;
}

export interface AutomaticFix {
  service: string;
  at: number;
  command: string;
  holder: string;
  outcome: string;
}

export interface GovernorState {
  cluster: string;
  policy: GovernorPolicy;
  leases: Lease[];
  queue: Waiting[];
  /** Grants inside the last window: the budget. */
  grants: { at: number; namespace: string; id: string }[];
  fixes: AutomaticFix[];
  freezes: Freeze[];
  stats: { granted: number; released: number; expired: number; refused: Record<string, number>; handedToPeople: number; mostInOneWindow: number };
  run: number;
}

export interface GovernorStatus {
  cluster: string;
  run: number;
  policy: GovernorPolicy;
  leases: (Omit<Lease, 'grantedAt' | 'expiresAt'> & { grantedAt: string; expiresAt: string })[];
  queue: { id: string; holder: string; service: string; waitingSince: string; reason: string }[];
  budget: { window: string; cluster: { used: number; limit: number }; namespaces: Record<string, { used: number; limit: number }> };
  freezes: { namespace?: string; reason: string; by: string; until: string }[];
  cooldowns: { service: string; until: string; command: string; holder: string; outcome: string }[];
  stats: GovernorState['stats'];
}

/** `cluster/namespace/deployment`: the cooldown's key. */
export const serviceKey = (s: ServiceRef): string => `${s.cluster}/${s.namespace}/${s.deployment}`;

/**
 * What a change to `service` touches, for the rule "never two concurrent changes to
 * the same workload or to services that share the failing dependency": the workload,
 * plus each dependency that is down, as the diagnosis names it (its commonCause),
 * and the full node pool (two changes landing in one full pool compete for it).
 */
export function leaseScopes(service: ServiceRef, diagnosis: Pick<Diagnosis, 'commonCause'> | undefined): string[] {
  const scopes = [`workload:${service.namespace}/${service.deployment}`];
  const cause = diagnosis?.commonCause;
  if (cause?.kind === 'dependency') return [...scopes, ...cause.name.split(',').map((name) => `dependency:${name.trim()}`)];
  if (cause?.kind === 'node-pool') return [...scopes, `node-pool:${cause.name}`];
  return scopes;
}

export function newGovernorState(cluster: string, policy: GovernorPolicyInput = {}): GovernorState {
  return {
    cluster,
    policy: GovernorPolicySchema.parse(policy),
    leases: [],
    queue: [],
    grants: [],
    fixes: [],
    freezes: [],
    stats: { granted: 0, released: 0, expired: 0, refused: {}, handedToPeople: 0, mostInOneWindow: 0 },
    run: 1,
  };
}

/** The rules over the state. Each method takes `now` (workflow time); answers collect in `outbox`. */
export class Governor {
  readonly outbox: LeaseAnswer[] = [];

  constructor(readonly state: GovernorState) {}

  adopt(policy: GovernorPolicy | undefined): void {
    if (policy) this.state.policy = policy;
  }

  request(request: z.output<typeof LeaseRequestSchema>, now: number): void {
    this.adopt(request.policy);
    const held = this.state.leases.find((l) => l.id === request.id);
    // The same request again (an activity retry): the same answer.
    if (held) return this.answer({ id: held.id, holder: held.holder, kind: 'granted', reason: 'lease already granted', expiresAt: held.expiresAt });
    if (this.state.queue.some((w) => w.request.id === request.id)) return;
    this.state.queue.push({ request, requestedAt: now });
  }

  release(release: z.output<typeof LeaseReleaseSchema>, now: number): void {
    const before = this.state.leases.length;
    this.state.leases = this.state.leases.filter((l) => l.id !== release.id);
    if (this.state.leases.length < before) this.state.stats.released += 1;
    // A holder that gave up waiting leaves the queue.
    this.state.queue = this.state.queue.filter((w) => w.request.id !== release.id);
    if (release.applied && release.automatic) {
      const key = serviceKey(release.service);
      this.state.fixes = [
        ...this.state.fixes.filter((f) => f.service !== key),
        { service: key, at: now, command: release.command, holder: release.holder, outcome: release.outcome },
      ];
    }
  }

  freeze(request: z.output<typeof FreezeRequestSchema>, now: number): void {
    const namespace = request.namespace;
    this.state.freezes = [
      ...this.state.freezes.filter((f) => f.namespace !== namespace),
      { ...(namespace ? { namespace } : {}), by: request.by, reason: request.reason, at: now, until: now + request.for },
    ];
  }

  unfreeze(request: z.output<typeof UnfreezeRequestSchema>): void {
    this.state.freezes = this.state.freezes.filter((f) => f.namespace !== request.namespace);
  }

  /** Expires, refuses and grants what it can now; the answers go to `outbox`. */
  step(now: number): void {
    const p = this.state.policy;
    this.prune(now);
    for (const lease of this.state.leases.filter((l) => l.expiresAt <= now)) {
      this.state.stats.expired += 1;
      this.state.leases = this.state.leases.filter((l) => l !== lease);
    }
    for (const waiting of [...this.state.queue]) {
      const r = waiting.request;
      const decided = this.decide(waiting, now);
      if (decided.kind === 'wait') {
        if (now - waiting.requestedAt >= p.maxWait) {
          this.refuse(waiting, `waited ${formatDuration(now - waiting.requestedAt)} (the most allowed): ${decided.reason}`, decided.rule);
        } else if (waiting.told !== decided.reason) {
          waiting.told = decided.reason;
          this.answer({ id: r.id, holder: r.holder, kind: 'queued', reason: decided.reason });
        }
        continue;
      }
      this.state.queue = this.state.queue.filter((w) => w !== waiting);
      if (decided.kind === 'refuse') this.refuse(waiting, decided.reason, decided.rule);
      else if (decided.kind === 'person') {
        this.state.stats.handedToPeople += 1;
        this.answer({ id: r.id, holder: r.holder, kind: 'needs-person', reason: decided.reason });
      } else this.grant(r, now);
    }
  }

  private decide(
    waiting: Waiting,
    now: number,
  ): { kind: 'grant' } | { kind: 'wait' | 'refuse'; reason: string; rule: string } | { kind: 'person'; reason: string } {
    const r = waiting.request;
    const p = this.state.policy;
    const frozen = this.freezeFor(r.service.namespace, now);
    if (frozen) return { kind: 'refuse', reason: frozen, rule: 'freeze' };
    const fix = r.automatic ? this.state.fixes.find((f) => f.service === serviceKey(r.service) && now - f.at < p.cooldown) : undefined;
    if (fix) {
      return {
        kind: 'person',
        reason:
          `cooldown: ${r.service.deployment} was fixed automatically ${formatDuration(now - fix.at)} ago (${fix.command}, ${fix.outcome}, by ${fix.holder}); ` +
          `within ${formatDuration(p.cooldown)} of an automatic fix a person decides`,
      };
    }
    const busy = this.state.leases.find((l) => l.scopes.some((s) => r.scopes.includes(s)));
    if (busy) {
      const shared = busy.scopes.filter((s) => r.scopes.includes(s)).join(', ');
      return { kind: 'wait', reason: `${shared} is being changed by ${busy.holder} (lease until ${iso(busy.expiresAt)})`, rule: 'scope' };
    }
    const inWindow = this.state.grants.filter((g) => g.at > now - p.window);
    if (inWindow.length >= p.maxChangesPerCluster) {
      return {
        kind: 'wait',
        reason: `cluster budget used: ${inWindow.length}/${p.maxChangesPerCluster} changes in ${formatDuration(p.window)}`,
        rule: 'cluster-budget',
      };
    }
    const inNamespace = inWindow.filter((g) => g.namespace === r.service.namespace).length;
    if (inNamespace >= p.maxChangesPerNamespace) {
      return {
        kind: 'wait',
        reason: `namespace ${r.service.namespace} budget used: ${inNamespace}/${p.maxChangesPerNamespace} changes in ${formatDuration(p.window)}`,
        rule: 'namespace-budget',
      };
    }
    return { kind: 'grant' };
  }

  private grant(r: z.output<typeof LeaseRequestSchema>, now: number): void {
    const p = this.state.policy;
    const lease: Lease = {
      id: r.id,
      holder: r.holder,
      service: r.service,
      scopes: r.scopes,
      automatic: r.automatic,
      command: r.command,
      grantedAt: now,
      expiresAt: now + p.leaseTtl,
    };
    this.state.leases.push(lease);
    this.state.grants.push({ at: now, namespace: r.service.namespace, id: r.id });
    this.state.stats.granted += 1;
    const inWindow = this.state.grants.filter((g) => g.at > now - p.window).length;
    this.state.stats.mostInOneWindow = Math.max(this.state.stats.mostInOneWindow, inWindow);
    this.answer({ id: r.id, holder: r.holder, kind: 'granted', reason: `lease until ${iso(lease.expiresAt)}`, expiresAt: lease.expiresAt });
  }

  private refuse(waiting: Waiting, reason: string, rule: string): void {
    this.state.queue = this.state.queue.filter((w) => w !== waiting);
    this.state.stats.refused[rule] = (this.state.stats.refused[rule] ?? 0) + 1;
    this.answer({ id: waiting.request.id, holder: waiting.request.holder, kind: 'refused', reason });
  }

  private answer(answer: LeaseAnswer): void {
    this.outbox.push(answer);
  }

  /** Why changes in `namespace` are frozen now, or undefined. */
  freezeFor(namespace: string, now: number): string | undefined {
    const manual = this.state.freezes.find((f) => f.until > now && (f.namespace === undefined || f.namespace === namespace));
    if (manual) return `change freeze${manual.namespace ? ` of ${manual.namespace}` : ''} by ${manual.by} until ${iso(manual.until)}: ${manual.reason}`;
    for (const text of this.state.policy.freezeWindows) {
      const window = parseFreezeWindow(text);
      const end = window ? freezeWindowEnd(window, now) : undefined;
      if (end !== undefined) return `configured change freeze ${text} (until ${iso(end)})`;
    }
    return undefined;
  }

  /** When step() has something to do without a new message: a lease expires, a wait ends, the budget frees. */
  nextWakeup(now: number): number | undefined {
    const p = this.state.policy;
    const times = [
      ...this.state.leases.map((l) => l.expiresAt),
      ...this.state.queue.map((w) => w.requestedAt + p.maxWait),
      ...(this.state.queue.length > 0 ? this.state.grants.map((g) => g.at + p.window + 1) : []),
    ].filter((t) => t > now);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  private prune(now: number): void {
    const p = this.state.policy;
    this.state.grants = this.state.grants.filter((g) => g.at > now - p.window);
    this.state.fixes = this.state.fixes.filter((f) => now - f.at < p.cooldown);
    this.state.freezes = this.state.freezes.filter((f) => f.until > now);
  }

  status(now: number): GovernorStatus {
    const p = this.state.policy;
    const inWindow = this.state.grants.filter((g) => g.at > now - p.window);
    const namespaces: Record<string, { used: number; limit: number }> = {};
    for (const g of inWindow) namespaces[g.namespace] = { used: (namespaces[g.namespace]?.used ?? 0) + 1, limit: p.maxChangesPerNamespace };
    const configured = p.freezeWindows.flatMap((text) => {
      const window = parseFreezeWindow(text);
      const end = window ? freezeWindowEnd(window, now) : undefined;
      return end === undefined ? [] : [{ reason: `configured window ${text}`, by: 'configuration', until: iso(end) }];
    });
    return {
      cluster: this.state.cluster,
      run: this.state.run,
      policy: p,
      leases: this.state.leases.filter((l) => l.expiresAt > now).map((l) => ({ ...l, grantedAt: iso(l.grantedAt), expiresAt: iso(l.expiresAt) })),
      queue: this.state.queue.map((w) => ({
        id: w.request.id,
        holder: w.request.holder,
        service: serviceKey(w.request.service),
        waitingSince: iso(w.requestedAt),
        reason: w.told ?? 'not yet decided',
      })),
      budget: { window: formatDuration(p.window), cluster: { used: inWindow.length, limit: p.maxChangesPerCluster }, namespaces },
      freezes: [
        ...this.state.freezes
          .filter((f) => f.until > now)
          .map((f) => ({ ...(f.namespace ? { namespace: f.namespace } : {}), reason: f.reason, by: f.by, until: iso(f.until) })),
        ...configured,
      ],
      cooldowns: this.state.fixes
        .filter((f) => now - f.at < p.cooldown)
        .map((f) => ({ service: f.service, until: iso(f.at + p.cooldown), command: f.command, holder: f.holder, outcome: f.outcome })),
      stats: this.state.stats,
    };
  }
}
