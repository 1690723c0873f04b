// The API server's contract as clients rely on it: auth, Status errors, dry runs,
// field managers, preconditions, selectors, paging, watches, Tables, fault
// injection, the audit log, the admin API, canaries and several services.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, sandboxFor, waitFor, type TestSandbox } from './helpers.js';

type Status = { kind: string; code: number; reason: string; message: string; details?: { name?: string; kind?: string; causes?: { field: string }[] } };
const json = { 'Content-Type': 'application/json' };
const deployPath = '/apis/apps/v1/namespaces/default/deployments';
const cmPath = '/api/v1/namespaces/default/configmaps';

describe('a healthy sandbox', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await sandboxFor();
  });
  afterAll(() => t.close());

  it('answers 401 with a Status without a valid bearer token, and serves /version and the fake dependency without one', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const r = await fetch(`${t.sandbox.url}/api/v1/namespaces/default/pods`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(await r.json()).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    }
    const admin = await fetch(`${t.sandbox.url}/sandbox/status`);
    expect(admin.status).toBe(401);
    const version = (await (await fetch(`${t.sandbox.url}/version`)).json()) as { major: string; minor: string; gitVersion: string };
    expect(version).toMatchObject({ major: '1', minor: '32' });
    expect(version.gitVersion).toMatch(/^v1\.32\./);
    const dep = await fetch(`${t.sandbox.url}/sandbox/dependencies/anthropic/v1/health`);
    expect(dep.status).toBe(200);
  });

  it('reports errors as Status bodies with the code and reason clients act on', async () => {
    const missing = await api(t.sandbox, `${deployPath}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'deployments.apps "nope" not found',
      details: { name: 'nope', kind: 'deployments', group: 'apps' },
    });

    const exists = await api(t.sandbox, cmPath, { method: 'POST', headers: json, body: JSON.stringify({ metadata: { name: 'agent-config' }, data: {} }) });
    expect(exists.status).toBe(409);
    expect((exists.body as Status).reason).toBe('AlreadyExists');

    const negative = await api(t.sandbox, `${deployPath}/agent-native-framework`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: -1 } }),
    });
    expect(negative.status).toBe(422);
    expect(negative.body).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'spec.replicas' }] } });

    const badJson = await api(t.sandbox, cmPath, { method: 'POST', headers: json, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect((badJson.body as Status).reason).toBe('BadRequest');

    const wrongType = await api(t.sandbox, deployPath, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ metadata: { name: 'x' }, spec: { replicas: 'two', template: { spec: { containers: [] } } } }),
    });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as Status).message).toContain('spec.replicas');

    const applyPatch = await api(t.sandbox, `${cmPath}/agent-config`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: 'data: {}',
    });
    expect(applyPatch.status).toBe(415);

    const unknown = await api(t.sandbox, '/apis/apps/v1/namespaces/default/widgets');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/json');
  });

  it('rejects a stale resourceVersion on PUT with 409 Conflict and accepts the current one', async () => {
    const current = (await api(t.sandbox, `${cmPath}/agent-config`)).body as { metadata: { resourceVersion: string }; data: Record<string, string> };
    const fresh = await api(t.sandbox, `${cmPath}/agent-config`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ ...current, data: { ...current.data, EXTRA: '1' } }),
    });
    expect(fresh.status).toBe(200);
    const stale = await api(t.sandbox, `${cmPath}/agent-config`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ ...current, data: { ...current.data, EXTRA: '2' } }),
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', details: { name: 'agent-config', kind: 'configmaps' } });
    expect((stale.body as Status).message).toContain('the object has been modified');
  });

  it('validates and returns a dry run without changing anything, and audits it as a dry run', async () => {
    const before = (await api(t.sandbox, `${deployPath}/agent-native-framework`)).body as { metadata: { resourceVersion: string } };
    const dry = await api(t.sandbox, `${deployPath}/agent-native-framework?dryRun=All&fieldManager=incident-worker`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 5 } }),
    });
    expect(dry.status).toBe(200);
    expect((dry.body as { spec: { replicas: number } }).spec.replicas).toBe(5);
    const after = (await api(t.sandbox, `${deployPath}/agent-native-framework`)).body as { spec: { replicas: number }; metadata: { resourceVersion: string } };
    expect(after.spec.replicas).toBe(2);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const invalidDry = await api(t.sandbox, `${deployPath}/agent-native-framework?dryRun=All`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: -3 } }),
    });
    expect(invalidDry.status).toBe(422);
    const created = await api(t.sandbox, `${cmPath}?dryRun=All`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ metadata: { name: 'dry-only' }, data: { a: 'b' } }),
    });
    expect(created.status).toBe(201);
    expect((await api(t.sandbox, `${cmPath}/dry-only`)).status).toBe(404);
    expect(t.sandbox.audit().find((e) => e.resource === 'deployments' && e.dryRun)).toMatchObject({
      verb: 'patch',
      name: 'agent-native-framework',
      fieldManager: 'incident-worker',
      dryRun: true,
    });
  });

  it('audits every write with who, what and the idempotency key recorded on the object', async () => {
    const key = 'incident/sandbox/default/agent-native-framework#3';
    const r = await api(t.sandbox, `${deployPath}/agent-native-framework?fieldManager=incident-worker`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/strategic-merge-patch+json', 'Impersonate-User': 'system:serviceaccount:incident:worker' },
      body: JSON.stringify({ metadata: { annotations: { 'incident-response.dev/idempotency-key': key } } }),
    });
    expect(r.status).toBe(200);
    const managed = (r.body as { metadata: { managedFields: { manager: string; operation: string }[] } }).metadata.managedFields;
    expect(managed).toContainEqual(expect.objectContaining({ manager: 'incident-worker', operation: 'Update' }));
    await api(t.sandbox, `${deployPath}/agent-native-framework/scale`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 2 } }),
    });
    await api(t.sandbox, `${cmPath}/audit-me`, { method: 'DELETE' });
    await api(t.sandbox, cmPath, { method: 'POST', headers: json, body: JSON.stringify({ metadata: { name: 'audit-me' } }) });
    await api(t.sandbox, `${cmPath}/audit-me`, { method: 'DELETE' });
    const entries = t.sandbox.audit();
    expect(entries.find((e) => e.idempotencyKey === key)).toMatchObject({
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'agent-native-framework',
      user: 'system:serviceaccount:incident:worker',
      fieldManager: 'incident-worker',
      dryRun: false,
    });
    const scaleEntry = entries.find((e) => e.subresource === 'scale');
    expect(scaleEntry).toMatchObject({ verb: 'patch', resource: 'deployments', user: 'sandbox-admin' });
    expect(scaleEntry?.idempotencyKey).toBeUndefined();
    expect(entries.filter((e) => e.name === 'audit-me').map((e) => e.verb)).toEqual(['create', 'delete']);
    expect(entries.every((e) => !Number.isNaN(Date.parse(e.time)))).toBe(true);
    // Reads are not writes.
    expect(entries.some((e) => e.verb === 'get' || e.verb === 'list')).toBe(false);
  });

  it('lists with label and field selectors, in pages', async () => {
    const pods = (await api(t.sandbox, '/api/v1/namespaces/default/pods?labelSelector=app%3Dagent-native-framework')).body as {
      kind: string;
      items: { spec: { nodeName: string } }[];
    };
    expect(pods.kind).toBe('PodList');
    expect(pods.items).toHaveLength(2);
    const node = pods.items[0]?.spec.nodeName ?? '';
    const onNode = (await api(t.sandbox, `/api/v1/pods?fieldSelector=spec.nodeName%3D${node},status.phase!%3DFailed`)).body as { items: unknown[] };
    expect(onNode.items.length).toBeGreaterThan(0);
    const none = (await api(t.sandbox, '/api/v1/namespaces/default/pods?labelSelector=app+in+(other),tier')).body as { items: unknown[] };
    expect(none.items).toHaveLength(0);
    const badField = await api(t.sandbox, '/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx');
    expect(badField.status).toBe(400);
    const first = (await api(t.sandbox, '/api/v1/namespaces?limit=2')).body as { items: { metadata: { name: string } }[]; metadata: { continue: string } };
    expect(first.items).toHaveLength(2);
    const rest = (await api(t.sandbox, `/api/v1/namespaces?limit=50&continue=${first.metadata.continue}`)).body as {
      items: { metadata: { name: string } }[];
      metadata: { continue?: string };
    };
    const all = (await api(t.sandbox, '/api/v1/namespaces')).body as { items: { metadata: { name: string } }[] };
    expect([...first.items, ...rest.items].map((n) => n.metadata.name)).toEqual(all.items.map((n) => n.metadata.name));
    expect(rest.metadata.continue).toBeUndefined();
  });

  it('answers Table requests with the columns kubectl prints', async () => {
    const r = await api(t.sandbox, '/api/v1/namespaces/default/pods', { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    const table = r.body as { kind: string; columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[]; object: { kind: string } }[] };
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(table.rows[0]?.cells.slice(1, 3)).toEqual(['1/1', 'Running']);
    expect(table.rows[0]?.object.kind).toBe('PartialObjectMetadata');
  });

  it('streams watch events as JSON lines, from a list resourceVersion on, filtered by field selector', async () => {
    const list = (await api(t.sandbox, `${deployPath}?fieldSelector=metadata.name%3Dagent-native-framework`)).body as { metadata: { resourceVersion: string } };
    const events: { type: string; object: { metadata: { annotations?: Record<string, string> } } }[] = [];
    const url = new URL(
      `${t.sandbox.url}${deployPath}?watch=1&fieldSelector=metadata.name%3Dagent-native-framework&resourceVersion=${list.metadata.resourceVersion}`,
    );
    const req = request(url, { headers: { Authorization: `Bearer ${t.sandbox.token}` } }, (res) => {
      expect(res.headers['content-type']).toBe('application/json');
      let buffer = '';
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) if (l) events.push(JSON.parse(l) as (typeof events)[number]);
      });
    });
    req.end();
    await api(t.sandbox, `${deployPath}/agent-native-framework`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { watched: 'yes' } } }),
    });
    await api(t.sandbox, `${cmPath}/agent-config`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { watched: 'no' } } }),
    });
    const seen = await waitFor('the MODIFIED event', () => events.find((e) => e.type === 'MODIFIED' && e.object.metadata.annotations?.watched === 'yes'));
    expect(seen).toBeDefined();
    req.destroy();
    expect(events.every((e) => e.type === 'MODIFIED')).toBe(true);
  });

  it('serves discovery with the metrics API that kubectl top needs', async () => {
    const groups = (await api(t.sandbox, '/apis')).body as { groups: { name: string; preferredVersion: { version: string } }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'metrics.k8s.io']));
    const core = (await api(t.sandbox, '/api/v1')).body as { resources: { name: string }[] };
    expect(core.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(['pods', 'pods/log', 'services/proxy', 'events', 'nodes', 'resourcequotas', 'endpoints', 'serviceaccounts']),
    );
    const apps = (await api(t.sandbox, '/apis/apps/v1')).body as { resources: { name: string; group?: string; kind: string }[] };
    expect(apps.resources).toContainEqual(expect.objectContaining({ name: 'deployments/scale', group: 'autoscaling', kind: 'Scale' }));
    expect((await api(t.sandbox, '/openapi/v2')).status).toBe(404);
  });

  it('injects faults per verb and resource, and clears them', async () => {
    t.sandbox.setFaults([{ verb: 'get', resource: 'deployments', status: 503, rate: 1 }]);
    const failed = await api(t.sandbox, `${deployPath}/agent-native-framework`);
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable' });
    expect((await api(t.sandbox, `${deployPath}/agent-native-framework/scale`)).status).toBe(503);
    expect((await api(t.sandbox, deployPath)).status).toBe(200);
    expect((await api(t.sandbox, `${cmPath}/agent-config`)).status).toBe(200);

    t.sandbox.setFaults([{ resource: 'pods/log', status: 429, rate: 1 }]);
    const pods = (await api(t.sandbox, '/api/v1/namespaces/default/pods')).body as { items: { metadata: { name: string } }[] };
    const throttled = await api(t.sandbox, `/api/v1/namespaces/default/pods/${pods.items[0]?.metadata.name}/log`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(throttled.body).toMatchObject({ reason: 'TooManyRequests' });

    t.sandbox.setFaults([{ verb: 'patch', status: 500, rate: 1 }]);
    const patched = await api(t.sandbox, `${cmPath}/agent-config`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: '{}',
    });
    expect(patched.body).toMatchObject({ code: 500, reason: 'InternalError' });

    t.sandbox.setFaults([{ resource: 'configmaps', drop: true, rate: 1 }]);
    await expect(api(t.sandbox, `${cmPath}/agent-config`)).rejects.toThrow();

    t.sandbox.setFaults([{ resource: 'configmaps', latencyMs: 150, rate: 1 }]);
    const started = Date.now();
    expect((await api(t.sandbox, `${cmPath}/agent-config`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    t.sandbox.setFaults([{ status: 503, rate: 0 }]);
    expect((await api(t.sandbox, `${cmPath}/agent-config`)).status).toBe(200);
    t.sandbox.setFaults([]);
    expect((await api(t.sandbox, `${deployPath}/agent-native-framework`)).status).toBe(200);
  });

  it('takes break, heal and faults through the admin API with validated bodies', async () => {
    const bad = await api(t.sandbox, '/sandbox/break', { method: 'POST', headers: json, body: JSON.stringify({ scenario: 'meteor-strike' }) });
    expect(bad.status).toBe(400);
    expect((bad.body as Status).message).toContain('scenario');
    const unknownService = await api(t.sandbox, '/sandbox/break', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ scenario: 'oom', service: 'nope' }),
    });
    expect(unknownService.status).toBe(404);
    const badFault = await api(t.sandbox, '/sandbox/faults', { method: 'PUT', headers: json, body: JSON.stringify({ rules: [{ rate: 2 }] }) });
    expect(badFault.status).toBe(400);

    const broken = await api(t.sandbox, '/sandbox/break', { method: 'POST', headers: json, body: JSON.stringify({ scenario: 'dependency-down' }) });
    expect(broken.body).toMatchObject({ services: [{ name: 'agent-native-framework', scenario: 'dependency-down' }], dependencies: { anthropic: 'down' } });
    expect((await fetch(`${t.sandbox.url}/sandbox/dependencies/anthropic/v1/health`)).status).toBe(503);
    await waitFor('the service to lose readiness', () => !t.sandbox.isRecovered());
    const healed = await api(t.sandbox, '/sandbox/heal', { method: 'POST', headers: json, body: '{}' });
    expect(healed.body).toMatchObject({ dependencies: { anthropic: 'up' } });
    await waitFor('recovery', () => t.sandbox.isRecovered());
    const status = await api(t.sandbox, '/sandbox/status');
    expect(status.body).toMatchObject({ services: [{ name: 'agent-native-framework', scenario: 'healthy', recovered: true }] });
    const audit = await api(t.sandbox, '/sandbox/audit');
    expect((audit.body as { entries: unknown[] }).entries.length).toBe(t.sandbox.audit().length);
  });
});

describe('a sandbox with secret canaries', () => {
  const canary = 'CANARY-7f3a9c1e-do-not-leak';
  let t: TestSandbox;
  beforeAll(async () => {
    t = await sandboxFor({ canary });
  });
  afterAll(() => t.close());

  it('plants the canary as the secret value, a literal env value and in the logs', async () => {
    const secret = (await api(t.sandbox, '/api/v1/namespaces/default/secrets/agent-secrets')).body as { data: Record<string, string> };
    expect(Buffer.from(secret.data.ANTHROPIC_API_KEY ?? '', 'base64').toString()).toBe(canary);
    const deployment = (await api(t.sandbox, `${deployPath}/agent-native-framework`)).body as {
      spec: { template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({ name: 'DB_PASSWORD', value: canary });
    const pods = (await api(t.sandbox, '/api/v1/namespaces/default/pods?labelSelector=app%3Dagent-native-framework')).body as {
      items: { metadata: { name: string } }[];
    };
    const log = await api(t.sandbox, `/api/v1/namespaces/default/pods/${pods.items[0]?.metadata.name}/log`);
    expect(log.headers.get('content-type')).toBe('text/plain');
    expect(log.text).toContain(canary);
  });

  it('never writes the secret value into an error message or the audit log', async () => {
    const value = Buffer.from(canary).toString('base64');
    const writes = [
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/default/secrets/agent-secrets',
        type: 'application/json-patch+json',
        body: [{ op: 'test', path: '/data/ANTHROPIC_API_KEY', value: 'wrong' }],
      },
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/default/secrets/agent-secrets',
        type: 'application/json-patch+json',
        body: [{ op: 'replace', path: '/data/MISSING/x', value: canary }],
      },
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/default/secrets/agent-secrets',
        type: 'application/merge-patch+json',
        body: { data: { NEW: `${canary}!not-base64` } },
      },
      {
        method: 'PUT',
        path: '/api/v1/namespaces/default/secrets/agent-secrets',
        type: 'application/json',
        body: { metadata: { name: 'agent-secrets', resourceVersion: '1' }, data: { ANTHROPIC_API_KEY: value } },
      },
      { method: 'PATCH', path: '/api/v1/namespaces/default/secrets/agent-secrets', type: 'application/merge-patch+json', body: { data: { ROTATED: value } } },
    ];
    const responses: string[] = [];
    for (const w of writes) {
      const r = await api(t.sandbox, w.path, { method: w.method, headers: { 'Content-Type': w.type }, body: JSON.stringify(w.body) });
      if (r.status >= 400) responses.push(r.text);
    }
    expect(responses).toHaveLength(4);
    for (const text of [...responses, JSON.stringify(t.sandbox.audit())]) {
      expect(text).not.toContain(canary);
      expect(text).not.toContain(value);
    }
  });
});

describe('a sandbox with several services', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await sandboxFor({ services: 3 });
  });
  afterAll(() => t.close());

  it('runs numbered copies, each with its own deployment, config map, secret and service', async () => {
    // Pods come up on the simulator's timers, which lag on a loaded machine.
    await waitFor('every copy to be up', () => t.sandbox.isRecovered());
    expect(t.sandbox.serviceNames).toEqual(['agent-native-framework-001', 'agent-native-framework-002', 'agent-native-framework-003']);
    for (const [path, names] of [
      [deployPath, t.sandbox.serviceNames],
      ['/api/v1/namespaces/default/services', t.sandbox.serviceNames],
      [cmPath, ['agent-config-001', 'agent-config-002', 'agent-config-003']],
      ['/api/v1/namespaces/default/secrets', ['agent-secrets-001', 'agent-secrets-002', 'agent-secrets-003']],
    ] as const) {
      const list = (await api(t.sandbox, path)).body as { items: { metadata: { name: string; labels?: Record<string, string> } }[] };
      expect(list.items.map((i) => i.metadata.name)).toEqual(names);
    }
    const pods = (await api(t.sandbox, '/api/v1/namespaces/default/pods?labelSelector=app%3Dagent-native-framework-002')).body as { items: unknown[] };
    expect(pods.items).toHaveLength(2);
  });

  it('breaks and heals one named service without touching the others', async () => {
    t.sandbox.break('scaled-to-zero', 'agent-native-framework-002');
    await waitFor('the broken service to go down', () => !t.sandbox.isRecovered('agent-native-framework-002'));
    expect(t.sandbox.isRecovered('agent-native-framework-001')).toBe(true);
    expect(t.sandbox.isRecovered('agent-native-framework-003')).toBe(true);
    expect(() => t.sandbox.break('oom', 'agent-native-framework-404')).toThrow(/unknown service/);
    t.sandbox.heal('agent-native-framework-002');
    await waitFor('recovery of all', () => t.sandbox.isRecovered());
  });
});
