// The runbook's "check dashboards" step: deploy/grafana/service-down.json.
// Grafana is not in Debian (and is AGPL), and publishes its dashboard model as
// TypeScript types (@grafana/schema), not a JSON schema: the dashboard is checked
// by tsc against that Dashboard type (grafana-types.ts), against a strict schema
// of the parts of the model (schemaVersion 39) it uses, and against Grafana's
// layout rules (24 columns, no overlap, unique ids).
// Every panel's PromQL then runs on Debian's real Prometheus, scraping the
// service's metrics (the app model both clusters serve) and the receiver's: a
// query that does not parse, or names a metric nobody exposes, fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serviceDownWebhook } from '../../client/alerts/webhook.js';
import type { IncidentGateway } from '../../client/receiver/gateway.js';
import { buildReceiver } from '../../client/receiver/server.js';
import { prometheusBinary } from '../../local-stack/prometheus-stack.js';
import { httpAnswer, type AppRun } from '../../sandbox/app.js';
import { grafanaTypeErrors } from './grafana-types.js';

const dashboardPath = join(import.meta.dirname, '../../deploy/grafana/service-down.json');

const DataSourceRef = z.strictObject({ type: z.literal('prometheus'), uid: z.string().min(1) });
const GridPos = z.strictObject({
  h: z.number().int().positive(),
  w: z.number().int().min(1).max(24),
  x: z.number().int().min(0).max(23),
  y: z.number().int().min(0),
});
const Target = z.strictObject({ refId: z.string().regex(/^[A-Z]$/), datasource: DataSourceRef, expr: z.string().min(1), legendFormat: z.string().optional() });
const Threshold = z.strictObject({ color: z.string(), value: z.number().nullable() });
const FieldConfig = z.strictObject({
  defaults: z.strictObject({
    unit: z.string().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    thresholds: z.strictObject({ mode: z.enum(['absolute', 'percentage']), steps: z.array(Threshold).min(1) }).optional(),
    mappings: z
      .array(z.strictObject({ type: z.literal('value'), options: z.record(z.string(), z.strictObject({ text: z.string(), color: z.string().optional() })) }))
      .optional(),
    custom: z.record(z.string(), z.unknown()).optional(),
  }),
  overrides: z.array(z.unknown()),
});
const Panel = z.strictObject({
  id: z.number().int().positive(),
  type: z.enum(['timeseries', 'stat', 'gauge', 'table', 'bargauge']),
  title: z.string().min(1),
  description: z.string().optional(),
  datasource: DataSourceRef,
  gridPos: GridPos,
  targets: z.array(Target).min(1),
  fieldConfig: FieldConfig,
  options: z.record(z.string(), z.unknown()),
});
const Row = z.strictObject({
  id: z.number().int().positive(),
  type: z.literal('row'),
  title: z.string().min(1),
  collapsed: z.boolean(),
  gridPos: GridPos,
  panels: z.array(z.never()),
});
const DashboardSchema = z.strictObject({
  uid: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/),
  title: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()),
  editable: z.boolean(),
  graphTooltip: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  schemaVersion: z.literal(39),
  version: z.number().int(),
  refresh: z.string().regex(/^\d+[smhd]$/),
  time: z.strictObject({ from: z.string(), to: z.string() }),
  timepicker: z.strictObject({}),
  timezone: z.enum(['browser', 'utc', '']),
  fiscalYearStartMonth: z.number().int().min(0).max(11),
  liveNow: z.boolean(),
  annotations: z.strictObject({ list: z.array(z.record(z.string(), z.unknown())) }),
  links: z.array(z.unknown()),
  templating: z.strictObject({
    list: z.array(
      z.strictObject({
        name: z.string(),
        label: z.string(),
        type: z.literal('datasource'),
        query: z.literal('prometheus'),
        current: z.strictObject({ text: z.string(), value: z.string() }).optional(),
        hide: z.number().int(),
        refresh: z.number().int(),
        options: z.array(z.unknown()),
        includeAll: z.boolean(),
        multi: z.boolean(),
        regex: z.string(),
        skipUrlSync: z.boolean(),
      }),
    ),
  }),
  panels: z.array(z.union([Row, Panel])),
});
type Dashboard = z.infer<typeof DashboardSchema>;
type QueryPanel = z.infer<typeof Panel>;

const raw: unknown = JSON.parse(readFileSync(dashboardPath, 'utf8'));
const queryPanels = (d: Dashboard): QueryPanel[] => d.panels.filter((p): p is QueryPanel => p.type !== 'row');

describe('the Service Down dashboard (deploy/grafana/service-down.json)', () => {
  it("is a Dashboard of Grafana's own model (@grafana/schema), checked by tsc: no unknown field, no wrong value", () => {
    expect(grafanaTypeErrors(dashboardPath)).toEqual([]);
    // The check can fail: a misspelled field is an error.
    const misspelled = join(mkdtempSync(join(tmpdir(), 'dashboard-')), 'bad.json');
    writeFileSync(misspelled, readFileSync(dashboardPath, 'utf8').replace('"gridPos"', '"gridPosition"'));
    expect(grafanaTypeErrors(misspelled).join('\n')).toMatch(/'"gridPosition"' does not exist/);
  });

  it("follows Grafana's dashboard model and layout: known fields only, 24 columns, no overlapping panels, unique ids", () => {
    const parsed = DashboardSchema.safeParse(raw);
    expect(parsed.success, parsed.success ? '' : z.prettifyError(parsed.error)).toBe(true);
    const d = DashboardSchema.parse(raw);
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    const cells = new Map<string, string>();
    for (const p of d.panels)
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          expect(cells.get(key), `${p.title} overlaps ${cells.get(key) ?? ''}`).toBeUndefined();
          cells.set(key, p.title);
        }
    for (const p of queryPanels(d)) expect(new Set(p.targets.map((t) => t.refId)).size, p.title).toBe(p.targets.length);
    // Every panel reads the dashboard's Prometheus variable.
    const variable = `\${${d.templating.list[0]?.name ?? ''}}`;
    for (const p of queryPanels(d))
      expect([p.datasource.uid, ...p.targets.map((t) => t.datasource.uid)], p.title).toEqual(p.targets.map(() => variable).concat(variable));
  });

  it('has the panels the runbook asks to check, and those of the incident response', () => {
    const d = DashboardSchema.parse(raw);
    const byTitle = new Map(queryPanels(d).map((p) => [p.title, p.targets.map((t) => t.expr).join('\n')]));
    expect(byTitle.get('Up')).toMatch(/\bup\{job="agent-native-framework"\}/);
    expect(byTitle.get('5xx rate')).toMatch(/http_requests_total\{[^}]*code=~"5\.\."/);
    expect(byTitle.get('p99 latency')).toMatch(/histogram_quantile\(0\.99, .*http_request_duration_seconds_bucket/);
    expect(byTitle.get('Restarts (1h)')).toMatch(/process_start_time_seconds/);
    expect(byTitle.get('Active agents')).toMatch(/agent_active_agents/);
    expect(byTitle.get('Open incidents by phase')).toMatch(/sum by \(phase\) \(incident_open/);
    expect(byTitle.get('Approvals waiting')).toMatch(/incident_awaiting_approval/);
    expect(byTitle.get('Time to mitigate')).toMatch(/incident_receiver_alert_duration_seconds_bucket/);
  });
});

// ---- every query on a real Prometheus --------------------------------------------

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const gateway: IncidentGateway = {
  check: () => [],
  deliver: async (d) => ({
    workflowId: d.workflowId,
    service: `${d.service.namespace}/${d.service.deployment}`,
    cluster: d.service.cluster,
    status: d.firing.length ? 'firing' : 'resolved',
    alerts: d.alerts.length,
    firing: d.firing.length,
    resolved: d.resolved.length,
    result: 'signalled',
  }),
  ready: async () => true,
  openIncidents: async () => ({ byPhase: { investigating: 1, 'awaiting-approval': 2, monitoring: 0 }, awaitingApproval: 2 }),
};

describe.skipIf(process.env.CI !== 'true' && !existsSync(prometheusBinary))('every panel query on a real Prometheus', () => {
  let prometheus: ChildProcess | undefined;
  let app: Server | undefined;
  let receiver: ReturnType<typeof buildReceiver> | undefined;
  let promUrl = '';

  beforeAll(async () => {
    // The service's /metrics as the app model serves it on both clusters: a replica up for an hour.
    const run: AppRun = {
      podName: 'agent-native-framework-0',
      image: 'agent-native-framework:1.4.2',
      env: new Map(),
      service: undefined,
      startedAt: Date.now() - 3_600_000,
      memoryLimit: 2 * 2 ** 30,
      outcome: { kind: 'ok' },
    };
    app = createServer((req, res) => {
      const answer = httpAnswer(run, 8000, req.url ?? '/', Date.now(), 1_000);
      res.writeHead(answer.status, { 'Content-Type': answer.contentType }).end(answer.body);
    });
    await new Promise<void>((r) => app?.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;

    receiver = buildReceiver({
      token: 'dashboard-test-token-0123456789',
      defaultCluster: 'local',
      clusters: ['local'],
      gateway,
      log: pino({ level: 'silent' }),
    });
    await receiver.listen({ host: '127.0.0.1', port: 0 });
    const receiverPort = (receiver.server.address() as AddressInfo).port;
    // One resolved alert, so the time-to-mitigate histogram has a sample.
    const service = { cluster: 'local', namespace: 'default', deployment: 'agent-native-framework' };
    const delivered = await receiver.inject({
      method: 'POST',
      url: '/alerts/alertmanager',
      headers: { authorization: 'Bearer dashboard-test-token-0123456789', 'content-type': 'application/json' },
      payload: serviceDownWebhook(service, 'resolved', '2026-11-27T10:00:00Z', '2026-11-27T10:12:00Z'),
    });
    expect(delivered.statusCode).toBe(200);

    const dir = mkdtempSync(join(tmpdir(), 'grafana-dashboard-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '900ms' },
        scrape_configs: [
          { job_name: 'agent-native-framework', static_configs: [{ targets: [`127.0.0.1:${appPort}`] }] },
          { job_name: 'incident-receiver', static_configs: [{ targets: [`127.0.0.1:${receiverPort}`] }] },
        ],
      }),
    );
    prometheus = spawn(
      prometheusBinary,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    promUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await receiver?.close();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
  });

  it('parses every expression and finds data for each: the metrics it names exist', async () => {
    const d = DashboardSchema.parse(raw);
    const exprs = queryPanels(d).flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    const query = async (expr: string) => {
      const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`);
      return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    };
    const empty = new Set(exprs.map((e) => e.expr));
    const errors = new Map<string, string>();
    // Rates need two scrapes: ask until every query answers with data, for at most 30 s.
    for (let i = 0; i < 60 && empty.size > 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      for (const expr of [...empty]) {
        const answer = await query(expr).catch(() => undefined);
        if (answer?.status === 'error') errors.set(expr, answer.error ?? 'error');
        if (answer?.status === 'success' && (answer.data?.result.length ?? 0) > 0) empty.delete(expr);
      }
      if (errors.size > 0) break;
    }
    expect([...errors].map(([expr, error]) => `${exprs.find((e) => e.expr === expr)?.panel}: ${error}`)).toEqual([]);
    expect([...empty].map((expr) => `${exprs.find((e) => e.expr === expr)?.panel}: no data for ${expr}`)).toEqual([]);
  }, 60_000);
});
