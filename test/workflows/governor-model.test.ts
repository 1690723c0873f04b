// The governor's rules as pure functions (workflows/model/governor.ts), without Temporal:
// freeze windows, lease scopes, the budget's queue and its bound, the cooldown.
import { describe, expect, it } from 'vitest';
import { Governor, freezeWindowEnd, leaseScopes, newGovernorState, parseFreezeWindow, type LeaseRequest } from '../../workflows/model/governor.js';
import { LeaseRequestSchema } from '../../workflows/messages.js';

const minute = 60_000;
const t0 = Date.parse('2026-11-28T10:00:00Z'); // a Saturday

function request(n: number, overrides: Partial<LeaseRequest> = {}) {
  return LeaseRequestSchema.parse({
    id: `incident/c/default/svc-${n}/run/action-1`,
    holder: `incident/c/default/svc-${n}`,
    service: { cluster: 'c', namespace: 'default', deployment: `svc-${n}` },
    scopes: [`workload:default/svc-${n}`],
    automatic: true,
    command: `kubectl -n default scale deployment/svc-${n} --replicas=2`,
    ...overrides,
  });
}

describe('freeze windows', () => {
  it.each([
    { text: '09:00-11:00', at: t0, end: Date.parse('2026-11-28T11:00:00Z') },
    { text: 'Sat 00:00-24:00', at: t0, end: Date.parse('2026-11-29T00:00:00Z') },
    { text: 'Sun 00:00-24:00', at: t0, end: undefined },
    { text: '11:00-12:00', at: t0, end: undefined },
    { text: '2026-11-28T09:00:00Z/2026-11-28T12:00:00Z', at: t0, end: Date.parse('2026-11-28T12:00:00Z') },
  ])('$text at 10:00 on a Saturday ends at $end', ({ text, at, end }) => {
    const window = parseFreezeWindow(text);
    expect(window).toBeDefined();
    expect(window && freezeWindowEnd(window, at)).toBe(end);
  });

  it.each(['25:00-26:00', '11:00-10:00', 'Fri', 'tomorrow/later'])('refuses %s', (text) => {
    expect(parseFreezeWindow(text)).toBeUndefined();
  });
});

describe('lease scopes', () => {
  const service = { cluster: 'c', namespace: 'default', deployment: 'a' };
  it('adds the unreachable dependencies the diagnosis names, and a full node pool, to the workload', () => {
    expect(leaseScopes(service, { commonCause: { kind: 'dependency', name: 'anthropic-api,billing' } })).toEqual([
      'workload:default/a',
      'dependency:anthropic-api',
      'dependency:billing',
    ]);
    expect(leaseScopes(service, { commonCause: { kind: 'node-pool', name: 'agents' } })).toEqual(['workload:default/a', 'node-pool:agents']);
  });
  it('is the workload alone for a cause of its own or a shared release', () => {
    expect(leaseScopes(service, {})).toEqual(['workload:default/a']);
    expect(leaseScopes(service, { commonCause: { kind: 'release', name: 'v2' } })).toEqual(['workload:default/a']);
  });
});

describe('the governor rules', () => {
  it('grants the budget, queues the rest with the reason, and grants them once the window has passed', () => {
    const g = new Governor(newGovernorState('c', { maxChangesPerCluster: 2, maxChangesPerNamespace: 5, window: 10 * minute, maxWait: 60 * minute }));
    for (const n of [1, 2, 3]) g.request(request(n), t0);
    g.step(t0);
    expect(g.outbox.splice(0).map((a) => [a.kind, a.reason.slice(0, 30)])).toEqual([
      ['granted', expect.stringContaining('lease until')],
      ['granted', expect.stringContaining('lease until')],
      ['queued', 'cluster budget used: 2/2 chang'],
    ]);
    expect(g.nextWakeup(t0)).toBe(t0 + 10 * minute + 1);
    g.step(t0 + 10 * minute + 1);
    expect(g.outbox.map((a) => a.kind)).toEqual(['granted']);
  });

  it('refuses a request that waited longer than the bound, saying for what', () => {
    const g = new Governor(newGovernorState('c', { maxChangesPerCluster: 5, maxWait: 30 * minute, leaseTtl: 120 * minute }));
    g.request(request(1, { scopes: ['workload:default/x'] }), t0);
    g.request(request(2, { scopes: ['workload:default/x'] }), t0);
    g.step(t0);
    g.step(t0 + 30 * minute);
    expect(g.outbox.at(-1)?.kind).toBe('refused');
    expect(g.outbox.at(-1)?.reason).toMatch(/^waited 30m .*workload:default\/x is being changed by incident\/c\/default\/svc-1/);
    expect(g.state.stats.refused).toEqual({ scope: 1 });
  });

  it('hands a second automatic change inside the cooldown to a person, but grants a person-approved one', () => {
    const g = new Governor(newGovernorState('c', { cooldown: 60 * minute }));
    g.request(request(1), t0);
    g.step(t0);
    g.release({ ...request(1), applied: true, outcome: 'recovered' }, t0 + minute);
    g.request({ ...request(1), id: 'second' }, t0 + 20 * minute);
    g.step(t0 + 20 * minute);
    expect(g.outbox.at(-1)?.kind).toBe('needs-person');
    expect(g.outbox.at(-1)?.reason).toMatch(/fixed automatically 19m ago \(kubectl -n default scale/);
    g.request({ ...request(1), id: 'third', automatic: false }, t0 + 21 * minute);
    g.step(t0 + 21 * minute);
    expect(g.outbox.at(-1)).toMatchObject({ kind: 'granted', id: 'third' });
  });

  it('expires a lease that is never released, and grants the next on its scope', () => {
    const g = new Governor(newGovernorState('c', { leaseTtl: 30 * minute }));
    g.request(request(1, { scopes: ['dependency:db'] }), t0);
    g.request(request(2, { scopes: ['dependency:db'] }), t0);
    g.step(t0);
    expect(g.outbox.map((a) => a.kind)).toEqual(['granted', 'queued']);
    g.step(t0 + 30 * minute);
    expect(g.outbox.at(-1)).toMatchObject({ kind: 'granted', holder: 'incident/c/default/svc-2' });
    expect(g.state.stats.expired).toBe(1);
  });
});
