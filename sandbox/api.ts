// The Kubernetes REST API over the store: discovery, get/list/watch,
// create/update/patch/delete with dryRun, fieldManager and resourceVersion
// preconditions, the scale/status/log/proxy subresources, computed
// metrics.k8s.io resources, and Table / PartialObjectMetadata negotiation.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { canonical, decode, prepareWrite, pruneNulls, qosClass, validateScale } from './admission.js';
import type { AuditLog } from './audit.js';
import type { Cluster } from './cluster.js';
import { alreadyExists, ApiError, badRequest, conflict, forbidden, invalid, notFound } from './errors.js';
import type { Faults } from './faults.js';
import { applyPatch, patchTypeOf, patchTypes } from './patch.js';
import { requestPodDeletion } from './pods.js';
import { checkQuota } from './quota.js';
import { allResources, apiVersionOf, groupVersions, lookupResource, R, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector, type FieldMatcher, type LabelQuery } from './selectors.js';
import type { Change } from './store.js';
import { partialObjectMetadata, toTable, type IncludeObject } from './tables.js';
import { isoSeconds } from './time.js';
import type { Deployment, KObject, Pod, ReplicaSet } from './types.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  user: string;
  body: () => Promise<Buffer>;
}

interface Target {
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  rest: string;
  watchPrefix: boolean;
}

type Render = { kind: 'json' } | { kind: 'table'; apiVersion: string; include: IncludeObject } | { kind: 'partial' };

const notFoundPath = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
const methodNotAllowed = () => new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function negotiate(req: IncomingMessage, query: URLSearchParams): Render {
  const accept = req.headers.accept ?? '';
  for (const clause of accept.split(',')) {
    const params = new Map(
      clause
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('g') !== 'meta.k8s.io') continue;
    if (params.get('as') === 'Table') {
      const include = (query.get('includeObject') ?? 'Metadata') as IncludeObject;
      return {
        kind: 'table',
        apiVersion: `meta.k8s.io/${params.get('v') ?? 'v1'}`,
        include: ['None', 'Metadata', 'Object'].includes(include) ? include : 'Metadata',
      };
    }
    if (params.get('as') === 'PartialObjectMetadata' || params.get('as') === 'PartialObjectMetadataList') return { kind: 'partial' };
  }
  return { kind: 'json' };
}

function listKind(resource: ResourceType): string {
  return `${resource.kind}List`;
}

/** Removes what the server owns from an object a client sends. */
function stripServerFields(o: KObject): KObject {
  const {
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    deletionTimestamp: _d,
    deletionGracePeriodSeconds: _g,
    generation: _n,
    managedFields: _m,
    ...meta
  } = o.metadata;
  return { ...o, metadata: meta };
}

/** managedFields' FieldsV1 for the fields a request set. */
function fieldsOf(value: unknown, top = true): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith('$')) continue;
    if (top && (k === 'apiVersion' || k === 'kind' || k === 'status')) continue;
    if (top && k === 'metadata') {
      const { labels, annotations } = (v ?? {}) as { labels?: object; annotations?: object };
      const meta: Record<string, unknown> = {};
      if (labels) meta['f:labels'] = fieldsOf(labels, false);
      if (annotations) meta['f:annotations'] = fieldsOf(annotations, false);
      if (Object.keys(meta).length) out['f:metadata'] = meta;
      continue;
    }
    if (Array.isArray(v)) {
      const keyed = v.every((item) => item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string');
      out[`f:${k}`] = keyed
        ? Object.fromEntries(v.map((item) => [`k:${JSON.stringify({ name: (item as { name: string }).name })}`, { '.': {}, ...fieldsOf(item, false) }]))
        : {};
    } else if (v && typeof v === 'object') {
      out[`f:${k}`] = fieldsOf(v, false);
    } else {
      out[`f:${k}`] = {};
    }
  }
  return out;
}

function fieldsOfJsonPatch(ops: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const op of Array.isArray(ops) ? ops : []) {
    const path = typeof (op as { path?: unknown }).path === 'string' ? (op as { path: string }).path : '';
    let node = out;
    for (const part of path.split('/').slice(1)) {
      if (/^\d+$/.test(part) || part === '-') break;
      const key = `f:${part.replace(/~1/g, '/').replace(/~0/g, '~')}`;
      node = (node[key] ??= {}) as Record<string, unknown>;
    }
  }
  return out;
}

export class KubeApi {
  constructor(
    private readonly cluster: Cluster,
    private readonly faults: Faults,
    private readonly audit: AuditLog,
  ) {}

  private get store() {
    return this.cluster.store;
  }

  /** Handles a request under /api or /apis. */
  async handle(ctx: RequestContext): Promise<void> {
    const segments = ctx.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] === 'api') {
      if (segments.length === 1) return this.sendApiVersions(ctx);
      if (segments[1] !== 'v1') throw notFoundPath();
      if (segments.length === 2) return this.sendResourceList(ctx, '', 'v1');
      return this.resourceRequest(ctx, this.target('', 'v1', segments.slice(2)));
    }
    if (segments.length === 1) return this.sendGroupList(ctx);
    const group = segments[1] ?? '';
    const versions = groupVersions().filter((gv) => gv.group === group && gv.group !== '');
    if (versions.length === 0) throw notFoundPath();
    if (segments.length === 2) return sendJson(ctx.res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...this.groupEntry(group) });
    const version = segments[2] ?? '';
    if (!versions.some((v) => v.version === version)) throw notFoundPath();
    if (segments.length === 3) return this.sendResourceList(ctx, group, version);
    return this.resourceRequest(ctx, this.target(group, version, segments.slice(3)));
  }

  // ---- discovery ----

  private sendApiVersions(ctx: RequestContext): void {
    sendJson(ctx.res, 200, {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: ctx.req.headers.host ?? '' }],
    });
  }

  private groupEntry(group: string) {
    const versions = groupVersions()
      .filter((gv) => gv.group === group)
      .map((gv) => ({ groupVersion: apiVersionOf(gv), version: gv.version }));
    return { name: group, versions, preferredVersion: versions[0] };
  }

  private sendGroupList(ctx: RequestContext): void {
    const groups = [...new Set(groupVersions().map((gv) => gv.group))].filter(Boolean).map((g) => this.groupEntry(g));
    sendJson(ctx.res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
  }

  private sendResourceList(ctx: RequestContext, group: string, version: string): void {
    const resources = allResources
      .filter((r) => r.group === group && r.version === version)
      .flatMap((r) => [
        {
          name: r.plural,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
        },
        ...Object.entries(r.subresources).map(([sub, s]) => ({
          name: `${r.plural}/${sub}`,
          singularName: '',
          namespaced: r.namespaced,
          ...(s.group ? { group: s.group, version: s.version } : {}),
          kind: s.kind,
          verbs: s.verbs,
        })),
      ]);
    sendJson(ctx.res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources });
  }

  // ---- routing ----

  private target(group: string, version: string, segs: string[]): Target {
    let watchPrefix = false;
    if (segs[0] === 'watch') {
      watchPrefix = true;
      segs = segs.slice(1);
    }
    let namespace: string | undefined;
    let rest = segs;
    const namespaceItself = segs.length === 2 || (segs.length === 3 && (segs[2] === 'status' || segs[2] === 'finalize'));
    if (segs[0] === 'namespaces' && segs.length >= 3 && !namespaceItself) {
      namespace = segs[1];
      rest = segs.slice(2);
    }
    const [plural = '', name, subresource, ...tail] = rest;
    const resource = lookupResource(group, version, plural);
    if (!resource || (namespace !== undefined && !resource.namespaced) || (resource.namespaced && namespace === undefined && name !== undefined))
      throw notFoundPath();
    if (subresource !== undefined && !(subresource in resource.subresources)) throw notFoundPath();
    if (subresource !== 'proxy' && tail.length > 0) throw notFoundPath();
    return { resource, namespace, name, subresource, rest: tail.join('/'), watchPrefix };
  }

  private verbOf(ctx: RequestContext, t: Target): string {
    const watch = t.watchPrefix || ['1', 'true'].includes(ctx.url.searchParams.get('watch') ?? '');
    switch (ctx.req.method) {
      case 'GET':
      case 'HEAD':
        return t.name === undefined ? (watch ? 'watch' : 'list') : 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return t.name === undefined ? 'deletecollection' : 'delete';
      default:
        throw methodNotAllowed();
    }
  }

  private async resourceRequest(ctx: RequestContext, t: Target): Promise<void> {
    const verb = this.verbOf(ctx, t);
    const fault = this.faults.decide(verb, t.subresource ? `${t.resource.plural}/${t.subresource}` : t.resource.plural);
    if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault.drop) {
      ctx.req.socket.destroy();
      return;
    }
    if (fault.error) throw fault.error;

    if (t.subresource === 'proxy') return this.proxy(ctx, t);
    const allowed = t.subresource ? (t.resource.subresources[t.subresource]?.verbs ?? []) : t.resource.verbs;
    if (!allowed.includes(verb)) throw methodNotAllowed();
    switch (verb) {
      case 'get':
        return this.get(ctx, t);
      case 'list':
        return this.list(ctx, t);
      case 'watch':
        return this.watch(ctx, t);
      case 'create':
        return this.create(ctx, t);
      case 'update':
      case 'patch':
        return this.write(ctx, t, verb);
      case 'delete':
        return this.delete(ctx, t);
      default:
        throw methodNotAllowed();
    }
  }

  // ---- reads ----

  private respond(ctx: RequestContext, t: Target, code: number, object: KObject): void {
    const render = negotiate(ctx.req, ctx.url.searchParams);
    if (render.kind === 'table') {
      return sendJson(
        ctx.res,
        code,
        toTable(t.resource, [object], { apiVersion: render.apiVersion, include: render.include, resourceVersion: object.metadata.resourceVersion ?? '' }),
      );
    }
    if (render.kind === 'partial') return sendJson(ctx.res, code, partialObjectMetadata(object));
    sendJson(ctx.res, code, object);
  }

  private computed(t: Target): KObject[] {
    const items = t.resource === R.podmetrics ? this.cluster.kubelet.podMetrics(t.namespace) : this.cluster.kubelet.nodeMetrics();
    return items as KObject[];
  }

  private existing<T extends KObject>(t: Target): T {
    const name = t.name ?? '';
    const found = t.resource.computed ? this.computed(t).find((o) => o.metadata.name === name) : this.store.get(t.resource, t.namespace, name);
    if (!found) throw notFound(t.resource.plural, t.resource.group, name);
    return found as T;
  }

  private get(ctx: RequestContext, t: Target): void {
    const object = this.existing(t);
    if (t.subresource === 'log') {
      const text = this.cluster.kubelet.logs(object as Pod, ctx.url.searchParams);
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
      ctx.res.end(ctx.req.method === 'HEAD' ? undefined : text);
      return;
    }
    if (t.subresource === 'scale') return sendJson(ctx.res, 200, this.scaleOf(object as Deployment));
    this.respond(ctx, t, 200, object);
  }

  private selectors(ctx: RequestContext, t: Target): { labels: LabelQuery; fields: FieldMatcher } {
    const q = ctx.url.searchParams;
    return { labels: parseLabelSelector(q.get('labelSelector')), fields: parseFieldSelector(q.get('fieldSelector'), t.resource.plural) };
  }

  private list(ctx: RequestContext, t: Target): void {
    const { labels, fields } = this.selectors(ctx, t);
    const q = ctx.url.searchParams;
    const all = t.resource.computed ? this.computed(t) : this.store.list(t.resource, t.namespace, labels.equality);
    let items = all.filter((o) => labels.matches(o.metadata.labels) && fields(o));
    const resourceVersion = this.store.resourceVersion;
    let continueToken: string | undefined;
    const token = q.get('continue');
    if (token) {
      let after: string;
      try {
        after = (JSON.parse(Buffer.from(token, 'base64url').toString()) as { after: string }).after;
      } catch {
        throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > after);
    }
    const limit = Number(q.get('limit') ?? 0);
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      const last = items[items.length - 1];
      continueToken = Buffer.from(JSON.stringify({ after: `${last?.metadata.namespace ?? ''}/${last?.metadata.name ?? ''}` })).toString('base64url');
    }
    const render = negotiate(ctx.req, q);
    if (render.kind === 'table') {
      return sendJson(ctx.res, 200, toTable(t.resource, items, { apiVersion: render.apiVersion, include: render.include, resourceVersion, continueToken }));
    }
    const metadata = { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) };
    if (render.kind === 'partial') {
      return sendJson(ctx.res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items: items.map(partialObjectMetadata) });
    }
    sendJson(ctx.res, 200, { kind: listKind(t.resource), apiVersion: apiVersionOf(t.resource), metadata, items });
  }

  private watch(ctx: RequestContext, t: Target): void {
    if (t.resource.computed) throw methodNotAllowed();
    const { labels, fields } = this.selectors(ctx, t);
    const q = ctx.url.searchParams;
    const render = negotiate(ctx.req, q);
    const inScope = (o: KObject) => (t.namespace === undefined || o.metadata.namespace === t.namespace) && labels.matches(o.metadata.labels) && fields(o);
    const { res, req } = ctx;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    // Clients wait for the headers before they count a watch as started, even when no event comes.
    res.flushHeaders();
    let first = true;
    const send = (type: string, object: KObject | Record<string, unknown>) => {
      let payload: unknown = object;
      if (type !== 'ERROR' && type !== 'BOOKMARK') {
        if (render.kind === 'table') {
          payload = toTable(t.resource, [object as KObject], {
            apiVersion: render.apiVersion,
            include: render.include,
            resourceVersion: (object as KObject).metadata.resourceVersion ?? '',
            columns: first,
          });
          first = false;
        } else if (render.kind === 'partial') payload = partialObjectMetadata(object as KObject);
      }
      res.write(`${JSON.stringify({ type, object: payload })}\n`);
    };
    const onChange = (c: Change) => {
      if (c.resource !== t.resource) return;
      const now = inScope(c.object);
      const was = c.previous ? inScope(c.previous) : false;
      if (c.type === 'MODIFIED') {
        if (now && was) send('MODIFIED', c.object);
        else if (now) send('ADDED', c.object);
        else if (was) send('DELETED', c.object);
      } else if (now) send(c.type, c.object);
    };
    const rv = q.get('resourceVersion');
    const initial = q.get('sendInitialEvents') === 'true';
    if (!rv || rv === '0' || initial) {
      for (const o of this.store.list(t.resource, t.namespace)) if (inScope(o)) send('ADDED', o);
      if (initial) {
        send('BOOKMARK', {
          kind: t.resource.kind,
          apiVersion: apiVersionOf(t.resource),
          metadata: { resourceVersion: this.store.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } },
        });
      }
    } else {
      const changes = this.store.changesSince(t.resource, Number(rv));
      if (changes === 'expired') {
        send('ERROR', {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${rv} (${this.store.resourceVersion})`,
          reason: 'Expired',
          code: 410,
        });
        res.end();
        return;
      }
      changes.forEach(onChange);
    }
    const unsubscribe = this.store.subscribe(onChange);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const stop = () => {
      unsubscribe();
      clearTimeout(timer);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  // ---- writes ----

  private dryRun(ctx: RequestContext, options?: { dryRun?: unknown }): boolean {
    const values = [...ctx.url.searchParams.getAll('dryRun'), ...(Array.isArray(options?.dryRun) ? (options.dryRun as string[]) : [])];
    for (const v of values) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
    return values.length > 0;
  }

  private fieldManager(ctx: RequestContext, t: Target, name: string): { param?: string; manager: string } {
    const param = ctx.url.searchParams.get('fieldManager') ?? undefined;
    if (param !== undefined && (param.length > 128 || param.length === 0)) {
      throw invalid(t.resource.kind, t.resource.group, name, [
        { field: 'metadata.managedFields.manager', type: 'FieldValueInvalid', detail: `"${param.slice(0, 20)}…": must be between 1 and 128 characters` },
      ]);
    }
    const agent = (ctx.req.headers['user-agent'] ?? '').split('/')[0] || 'unknown';
    return { param, manager: param ?? agent };
  }

  private async readJson(ctx: RequestContext): Promise<unknown> {
    const raw = (await ctx.body()).toString('utf8');
    if (raw.trim() === '') return undefined;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw badRequest('the request body is not valid JSON');
    }
  }

  /** Records the manager's fields; every write here is an Update (server-side apply is not served). */
  private withManagedFields(o: KObject, manager: string, fields: Record<string, unknown>, subresource?: string): KObject {
    const operation = 'Update';
    const entry = {
      manager,
      operation,
      apiVersion: o.apiVersion,
      time: isoSeconds(Date.now()),
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
      ...(subresource ? { subresource } : {}),
    };
    const others = (o.metadata.managedFields ?? []).filter((m) => !(m.manager === manager && m.operation === operation && m.subresource === subresource));
    return { ...o, metadata: { ...o.metadata, managedFields: [...others, entry] } };
  }

  private record(
    ctx: RequestContext,
    verb: string,
    t: Target,
    name: string,
    fieldManager: string | undefined,
    dryRun: boolean,
    written: KObject | undefined,
  ): void {
    this.audit.record(
      { verb, resource: t.resource.plural, subresource: t.subresource, namespace: t.namespace, name, user: ctx.user, fieldManager, dryRun },
      written,
    );
  }

  private async create(ctx: RequestContext, t: Target): Promise<void> {
    if (t.subresource || t.name !== undefined) throw methodNotAllowed();
    const body = await this.readJson(ctx);
    let object = decode(t.resource, body);
    if (object.kind && object.kind !== t.resource.kind) throw badRequest(`the body of the request was a ${String(object.kind)}, not a ${t.resource.kind}`);
    object = stripServerFields({ ...object, apiVersion: apiVersionOf(t.resource), kind: t.resource.kind, metadata: { ...(object.metadata ?? {}) } });
    if (t.resource.namespaced) {
      if (object.metadata.namespace && object.metadata.namespace !== t.namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      object.metadata.namespace = t.namespace;
      if (!this.store.get(R.namespaces, undefined, t.namespace ?? '')) throw notFound('namespaces', '', t.namespace ?? '');
    } else {
      delete object.metadata.namespace;
    }
    if (!object.metadata.name) {
      const generate = object.metadata.generateName;
      if (!generate)
        throw invalid(t.resource.kind, t.resource.group, '', [
          { field: 'metadata.name', type: 'FieldValueRequired', detail: 'name or generateName is required' },
        ]);
      object.metadata.name = `${generate}${Math.random().toString(36).slice(2, 7)}`;
    }
    const name = object.metadata.name;
    const fm = this.fieldManager(ctx, t, name);
    const dryRun = this.dryRun(ctx);
    if (this.store.get(t.resource, t.namespace, name)) throw alreadyExists(t.resource.plural, t.resource.group, name);
    // Status is the controllers' to write, except for nodes (the kubelet registers them with theirs).
    if ('status' in t.resource.subresources && t.resource !== R.nodes) delete object.status;
    let prepared = prepareWrite(t.resource, undefined, object, () => this.cluster.usedClusterIPs());
    if (t.resource === R.pods) {
      checkQuota(this.store, prepared as Pod);
      prepared = { ...prepared, status: { phase: 'Pending', qosClass: qosClass((prepared as Pod).spec) } };
    }
    if (t.resource === R.deployments || t.resource === R.replicasets) prepared = { ...prepared, status: {} };
    prepared = this.withManagedFields(prepared, fm.manager, fieldsOf(body));
    const result = dryRun
      ? { ...prepared, metadata: { ...prepared.metadata, uid: randomUUID(), creationTimestamp: isoSeconds(Date.now()) } }
      : this.store.create(t.resource, prepared);
    this.record(ctx, 'create', t, name, fm.param, dryRun, result);
    this.respond(ctx, t, 201, result);
  }

  private scaleOf(d: Deployment | ReplicaSet): Record<string, unknown> {
    const selector = Object.entries(d.spec.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: d.metadata.name,
        namespace: d.metadata.namespace,
        uid: d.metadata.uid,
        resourceVersion: d.metadata.resourceVersion,
        creationTimestamp: d.metadata.creationTimestamp,
      },
      spec: { replicas: d.spec.replicas ?? 0 },
      status: { replicas: d.status?.replicas ?? 0, selector },
    };
  }

  /** PUT and PATCH of an object or its status or scale subresource. */
  private async write(ctx: RequestContext, t: Target, verb: 'update' | 'patch'): Promise<void> {
    const name = t.name ?? '';
    const existing = this.existing(t);
    const type = verb === 'patch' ? patchTypeOf(ctx.req.headers['content-type']) : undefined;
    if (verb === 'patch' && !type) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${Object.values(patchTypes).join(', ')}`,
      );
    }
    const body = await this.readJson(ctx);
    const fm = this.fieldManager(ctx, t, name);
    const dryRun = this.dryRun(ctx);
    const scale = t.subresource === 'scale';
    const current = scale ? this.scaleOf(existing as Deployment) : existing;
    let proposed: Record<string, unknown>;
    let fields: Record<string, unknown>;
    if (type) {
      proposed = applyPatch(type, current, body, scale ? 'Scale' : t.resource.kind);
      fields = type === 'json' ? fieldsOfJsonPatch(body) : fieldsOf(body);
    } else {
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
      proposed = body as Record<string, unknown>;
      fields = fieldsOf(body);
    }
    const meta = (proposed.metadata ?? {}) as { name?: string; namespace?: string; resourceVersion?: string };
    if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    if (t.resource.namespaced && meta.namespace !== undefined && meta.namespace !== t.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    // A resourceVersion in the body is a precondition: a stale one is a conflict (optimistic concurrency).
    if (meta.resourceVersion && meta.resourceVersion !== existing.metadata.resourceVersion) throw conflict(t.resource.plural, t.resource.group, name);

    let next: KObject;
    if (scale) {
      const replicas = (proposed.spec as { replicas?: unknown } | undefined)?.replicas;
      validateScale(name, replicas);
      next = { ...existing, spec: { ...(existing.spec as object), replicas } };
    } else {
      const decoded = decode(t.resource, { ...proposed, apiVersion: existing.apiVersion, kind: existing.kind });
      const base = {
        ...decoded,
        metadata: { ...decoded.metadata, name, namespace: existing.metadata.namespace, managedFields: existing.metadata.managedFields },
      };
      if (t.subresource === 'status') next = { ...existing, status: decoded.status };
      else if ('status' in t.resource.subresources) next = { ...base, status: existing.status };
      else next = base;
    }
    let prepared = prepareWrite(t.resource, existing, pruneNulls(next), () => this.cluster.usedClusterIPs());
    prepared = this.withManagedFields(prepared, fm.manager, scale ? { 'f:spec': { 'f:replicas': {} } } : fields, t.subresource);
    const unchanged =
      canonical({ ...prepared, metadata: { ...prepared.metadata, managedFields: undefined, resourceVersion: undefined } }) ===
      canonical({ ...existing, metadata: { ...existing.metadata, managedFields: undefined, resourceVersion: undefined } });
    // A write that changes nothing stores nothing, as the API server skips no-op updates.
    const result = dryRun || unchanged ? (dryRun ? prepared : existing) : this.store.update(t.resource, prepared);
    // The object written through the scale subresource is the Scale, which carries only what the request put on it.
    this.record(ctx, verb, t, name, fm.param, dryRun, scale ? (proposed as KObject) : result);
    if (scale) return sendJson(ctx.res, 200, this.scaleOf(result as Deployment));
    this.respond(ctx, t, 200, result);
  }

  private async delete(ctx: RequestContext, t: Target): Promise<void> {
    if (t.subresource) throw methodNotAllowed();
    const name = t.name ?? '';
    const existing = this.existing(t);
    const options = ((await this.readJson(ctx)) ?? {}) as {
      preconditions?: { uid?: string; resourceVersion?: string };
      gracePeriodSeconds?: number;
      propagationPolicy?: string;
      dryRun?: unknown;
    };
    const q = ctx.url.searchParams;
    const dryRun = this.dryRun(ctx, options);
    const pre = options.preconditions;
    // A precondition the object no longer meets: the API server's 409, naming the field.
    const preconditionFailed = (field: string, wanted: string, actual: string | undefined) =>
      new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.resource.plural} "${name}": Precondition failed: ${field} in precondition: ${wanted}, ${field} in object meta: ${actual}`,
        { name, group: t.resource.group, kind: t.resource.plural },
      );
    if (pre?.uid && pre.uid !== existing.metadata.uid) throw preconditionFailed('UID', pre.uid, existing.metadata.uid);
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion)
      throw preconditionFailed('ResourceVersion', pre.resourceVersion, existing.metadata.resourceVersion);
    if (t.resource === R.namespaces && ['default', 'kube-system', 'kube-public'].includes(name))
      throw forbidden('namespaces', '', name, 'this namespace may not be deleted');
    const graceParam = q.get('gracePeriodSeconds');
    const grace = graceParam !== null ? Number(graceParam) : options.gracePeriodSeconds;
    const policy = q.get('propagationPolicy') ?? options.propagationPolicy;
    let result: KObject = existing;
    if (!dryRun) {
      if (policy === 'Orphan') this.orphanDependents(existing);
      if (t.resource === R.pods) result = requestPodDeletion(this.store, existing as Pod, grace);
      else if (t.resource === R.namespaces) result = this.deleteNamespace(name);
      else result = this.store.remove(t.resource, t.namespace, name);
    }
    this.record(ctx, 'delete', t, name, undefined, dryRun, existing);
    this.respond(ctx, t, 200, result);
  }

  private orphanDependents(owner: KObject): void {
    const uid = owner.metadata.uid ?? '';
    for (const resource of [R.replicasets, R.pods]) {
      for (const o of this.store.owned(resource, uid)) {
        const ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        this.store.update(resource, { ...o, metadata: { ...o.metadata, ownerReferences } });
      }
    }
  }

  private deleteNamespace(name: string): KObject {
    for (const resource of allResources) {
      if (!resource.namespaced || resource.computed) continue;
      for (const o of this.store.list(resource, name)) this.store.remove(resource, name, o.metadata.name);
    }
    return this.store.remove(R.namespaces, undefined, name);
  }

  // ---- proxy ----

  private proxy(ctx: RequestContext, t: Target): void {
    // "name", "name:port" or "scheme:name:port", as the API server accepts.
    const parts = (t.name ?? '').split(':');
    const [name, portName] = parts.length >= 3 ? [parts[1] ?? '', parts[2]] : [parts[0] ?? '', parts[1]];
    let pod: Pod;
    let port: number;
    if (t.resource === R.services) {
      ({ pod, port } = this.cluster.endpoints.proxyTarget(t.namespace ?? 'default', name, portName));
    } else {
      const found = this.store.get<Pod>(R.pods, t.namespace, name);
      if (!found) throw notFound('pods', '', name);
      pod = found;
      port = Number(portName ?? pod.spec.containers[0]?.ports?.[0]?.containerPort ?? 80);
    }
    const query = ctx.url.search;
    const answer = this.cluster.kubelet.http(pod, port, `/${t.rest}${query}`);
    ctx.res.writeHead(answer.status, {
      'Content-Type': answer.contentType,
      'Content-Length': Buffer.byteLength(answer.body),
      'Cache-Control': 'no-cache, private',
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : answer.body);
  }
}
