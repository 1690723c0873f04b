// What the API server does to an object between decoding and storing it:
// structural decoding (400 when a field has the wrong type), defaulting (as the
// built-in defaulters do, so templates compare equal however they were written)
// and validation (422 Invalid with field causes). Messages name fields, and never
// quote a secret's values.
import type { z } from 'zod';
import { badRequest, invalid, type FieldError } from './errors.js';
import { parseQuantity } from './quantity.js';
import { R, type ResourceType } from './resources.js';
import {
  ConfigMapSchema,
  DeploymentSchema,
  NodeSchema,
  ObjectMetaSchema,
  PodSchema,
  ReplicaSetSchema,
  ResourceQuotaSchema,
  SecretSchema,
  ServiceSchema,
  type Container,
  type KObject,
  type PodSpec,
  type PodTemplate,
} from './types.js';

const schemas = new Map<ResourceType, z.ZodType>([
  [R.deployments, DeploymentSchema],
  [R.replicasets, ReplicaSetSchema],
  [R.pods, PodSchema],
  [R.services, ServiceSchema],
  [R.configmaps, ConfigMapSchema],
  [R.secrets, SecretSchema],
  [R.nodes, NodeSchema],
  [R.resourcequotas, ResourceQuotaSchema],
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's decoder treats null as "not set": drop nulls so stored objects and templates compare equal. */
export function pruneNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(pruneNulls) as T;
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = pruneNulls(v);
  return out as T;
}

/** Checks the structure of a decoded body against the resource's schema (400 on a type error). */
export function decode(resource: ResourceType, body: unknown): KObject {
  if (!isObj(body))
    throw badRequest(`${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: the body must be a JSON object`);
  const meta = ObjectMetaSchema.safeParse(body.metadata ?? {});
  const issue = meta.success ? schemas.get(resource)?.safeParse(body).error?.issues[0] : meta.error.issues[0];
  if (issue) {
    const path = meta.success ? issue.path : ['metadata', ...issue.path];
    const field = path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    throw badRequest(`${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: ${field}: ${issue.message}`);
  }
  return pruneNulls(body) as KObject;
}

// ---- defaulting ----

function normalizeQuantities(map: unknown): Record<string, string> | undefined {
  if (!isObj(map)) return undefined;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, String(v)]));
}

function defaultContainer(c: Container): Container {
  const limits = normalizeQuantities(c.resources?.limits);
  // Requests default to limits for resources that have a limit and no request.
  const requests = { ...(limits ?? {}), ...(normalizeQuantities(c.resources?.requests) ?? {}) };
  const resources: Record<string, unknown> = { ...(c.resources ?? {}) };
  if (limits) resources.limits = limits;
  if (Object.keys(requests).length > 0) resources.requests = requests;
  const tag = (c.image ?? '').split('@')[0]?.split('/').pop()?.split(':')[1];
  return {
    ...c,
    resources,
    terminationMessagePath: c.terminationMessagePath ?? '/dev/termination-log',
    terminationMessagePolicy: c.terminationMessagePolicy ?? 'File',
    imagePullPolicy: c.imagePullPolicy ?? (tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent'),
    ...(c.ports ? { ports: c.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })) } : {}),
  };
}

function defaultPodSpec(spec: PodSpec): PodSpec {
  return {
    ...spec,
    containers: spec.containers.map(defaultContainer),
    ...(spec.initContainers ? { initContainers: spec.initContainers.map(defaultContainer) } : {}),
    restartPolicy: spec.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    dnsPolicy: spec.dnsPolicy ?? 'ClusterFirst',
    securityContext: spec.securityContext ?? {},
    schedulerName: spec.schedulerName ?? 'default-scheduler',
  };
}

function defaultPodTemplate(template: PodTemplate): PodTemplate {
  return { ...template, metadata: template.metadata ?? {}, spec: defaultPodSpec(template.spec) };
}

export function qosClass(spec: PodSpec): string {
  const all = [...spec.containers, ...(spec.initContainers ?? [])];
  const any = all.some((c) => Object.keys(c.resources?.requests ?? {}).length + Object.keys(c.resources?.limits ?? {}).length > 0);
  if (!any) return 'BestEffort';
  const guaranteed = all.every((c) =>
    ['cpu', 'memory'].every(
      (r) => c.resources?.limits?.[r] !== undefined && String(c.resources.limits[r]) === String(c.resources.requests?.[r] ?? c.resources.limits[r]),
    ),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const defaultTolerations = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

function defaults(resource: ResourceType, o: KObject, usedClusterIPs: () => Set<string>): KObject {
  switch (resource) {
    case R.deployments: {
      const spec = o.spec as Obj & { template: PodTemplate; strategy?: Obj };
      const strategy = spec.strategy ?? { type: 'RollingUpdate' };
      const type = strategy.type ?? 'RollingUpdate';
      return {
        ...o,
        spec: {
          ...spec,
          replicas: spec.replicas ?? 1,
          revisionHistoryLimit: spec.revisionHistoryLimit ?? 10,
          progressDeadlineSeconds: spec.progressDeadlineSeconds ?? 600,
          strategy:
            type === 'RollingUpdate'
              ? {
                  ...strategy,
                  type,
                  rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%', ...(isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {}) },
                }
              : { ...strategy, type },
          template: defaultPodTemplate(spec.template),
        },
      };
    }
    case R.replicasets: {
      const spec = o.spec as Obj & { template: PodTemplate };
      return { ...o, spec: { ...spec, replicas: spec.replicas ?? 1, template: defaultPodTemplate(spec.template) } };
    }
    case R.pods: {
      const spec = defaultPodSpec(o.spec as PodSpec);
      const sa = spec.serviceAccountName ?? 'default';
      return {
        ...o,
        spec: {
          ...spec,
          serviceAccountName: sa,
          serviceAccount: sa,
          tolerations: spec.tolerations ?? defaultTolerations,
          enableServiceLinks: spec.enableServiceLinks ?? true,
          preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority',
          priority: spec.priority ?? 0,
        },
      };
    }
    case R.services: {
      const spec = o.spec as Obj & { ports?: Obj[]; clusterIP?: string };
      let clusterIP = spec.clusterIP;
      if (!clusterIP) {
        const used = usedClusterIPs();
        for (let i = 10; !clusterIP || used.has(clusterIP); i++) clusterIP = `127.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      }
      return {
        ...o,
        spec: {
          type: 'ClusterIP',
          sessionAffinity: 'None',
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          internalTrafficPolicy: 'Cluster',
          ...spec,
          clusterIP,
          clusterIPs: [clusterIP],
          ...(spec.ports ? { ports: spec.ports.map((p) => ({ protocol: 'TCP', targetPort: p.port, ...p })) } : {}),
        },
      };
    }
    case R.secrets: {
      const s = o as KObject & { data?: Record<string, string>; stringData?: Record<string, string>; type?: string };
      const data = { ...(s.data ?? {}) };
      for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(v).toString('base64');
      const { stringData: _written, ...rest } = s;
      return { ...rest, type: s.type ?? 'Opaque', data };
    }
    case R.namespaces:
      return {
        ...o,
        metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      };
    case R.resourcequotas: {
      const spec = (o as { spec?: { hard?: Obj } }).spec ?? {};
      return { ...o, spec: { ...spec, hard: normalizeQuantities(spec.hard) ?? {} } };
    }
    default:
      return o;
  }
}

// ---- validation ----

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const configKey = /^[-._a-zA-Z0-9]+$/;

function checkName(errors: FieldError[], resource: ResourceType, name: string): void {
  if (resource === R.namespaces || resource === R.services) {
    const re = resource === R.services ? dns1035Label : dns1123Label;
    if (!re.test(name) || name.length > 63) {
      const what = resource === R.services ? 'a DNS-1035 label' : 'a lowercase RFC 1123 label';
      errors.push({
        field: 'metadata.name',
        type: 'FieldValueInvalid',
        detail: `"${name}": ${what} must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
      });
    }
  } else if (!dns1123Subdomain.test(name) || name.length > 253) {
    errors.push({
      field: 'metadata.name',
      type: 'FieldValueInvalid',
      detail: `"${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    });
  }
}

function checkLabels(errors: FieldError[], field: string, labels: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const name = k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
    if (!qualifiedName.test(name) || name.length > 63) {
      errors.push({
        field,
        type: 'FieldValueInvalid',
        detail: `"${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
    if (!labelValue.test(v) || v.length > 63) {
      errors.push({
        field: `${field}`,
        type: 'FieldValueInvalid',
        detail: `"${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
  }
}

function checkPodSpec(errors: FieldError[], path: string, spec: PodSpec): void {
  if (spec.containers.length === 0) errors.push({ field: `${path}.containers`, type: 'FieldValueRequired', detail: '' });
  const names = new Set<string>();
  spec.containers.forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    if (!dns1123Label.test(c.name))
      errors.push({
        field: `${p}.name`,
        type: 'FieldValueInvalid',
        detail: `"${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
      });
    if (names.has(c.name)) errors.push({ field: `${p}.name`, type: 'FieldValueDuplicate', detail: `"${c.name}"` });
    names.add(c.name);
    if (!c.image) errors.push({ field: `${p}.image`, type: 'FieldValueRequired', detail: '' });
    for (const kind of ['requests', 'limits'] as const) {
      for (const [r, q] of Object.entries(c.resources?.[kind] ?? {})) {
        const value = parseQuantity(q);
        if (value === undefined) {
          errors.push({
            field: `${p}.resources.${kind}.${r}`,
            type: 'FieldValueInvalid',
            detail: `"${q}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
          });
        } else if (value < 0) {
          errors.push({ field: `${p}.resources.${kind}.${r}`, type: 'FieldValueInvalid', detail: `"${q}": must be greater than or equal to 0` });
        }
      }
    }
    for (const r of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      if (req !== undefined && lim !== undefined && (parseQuantity(req) ?? 0) > (parseQuantity(lim) ?? Infinity)) {
        errors.push({ field: `${p}.resources.requests`, type: 'FieldValueInvalid', detail: `"${req}": must be less than or equal to ${r} limit of ${lim}` });
      }
    }
    (c.ports ?? []).forEach((port, j) => {
      if (port.containerPort < 1 || port.containerPort > 65535) {
        errors.push({
          field: `${p}.ports[${j}].containerPort`,
          type: 'FieldValueInvalid',
          detail: `${port.containerPort}: must be between 1 and 65535, inclusive`,
        });
      }
    });
  });
}

function nonNegative(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value === 'number' && value < 0) errors.push({ field, type: 'FieldValueInvalid', detail: `${value}: must be greater than or equal to 0` });
}

function validate(resource: ResourceType, o: KObject): FieldError[] {
  const errors: FieldError[] = [];
  checkName(errors, resource, o.metadata.name);
  checkLabels(errors, 'metadata.labels', o.metadata.labels);
  switch (resource) {
    case R.deployments:
    case R.replicasets: {
      const spec = (
        o as unknown as {
          spec: {
            replicas?: number;
            selector?: { matchLabels?: Record<string, string> };
            template: PodTemplate;
            strategy?: { type?: string; rollingUpdate?: unknown };
            revisionHistoryLimit?: number;
            progressDeadlineSeconds?: number;
            minReadySeconds?: number;
          };
        }
      ).spec;
      nonNegative(errors, 'spec.replicas', spec.replicas);
      const selector = spec.selector?.matchLabels ?? {};
      if (!spec.selector || (Object.keys(selector).length === 0 && !('matchExpressions' in spec.selector))) {
        errors.push({ field: 'spec.selector', type: 'FieldValueRequired', detail: '' });
      } else {
        const labels = spec.template.metadata?.labels ?? {};
        if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
          errors.push({ field: 'spec.template.metadata.labels', type: 'FieldValueInvalid', detail: '`selector` does not match template `labels`' });
        }
      }
      checkLabels(errors, 'spec.template.metadata.labels', spec.template.metadata?.labels);
      checkPodSpec(errors, 'spec.template.spec', spec.template.spec);
      if (spec.template.spec.restartPolicy !== 'Always') {
        errors.push({
          field: 'spec.template.spec.restartPolicy',
          type: 'FieldValueNotSupported',
          detail: `"${spec.template.spec.restartPolicy}": supported values: "Always"`,
        });
      }
      if (resource === R.deployments) {
        const type = spec.strategy?.type;
        if (type !== 'Recreate' && type !== 'RollingUpdate') {
          errors.push({ field: 'spec.strategy.type', type: 'FieldValueNotSupported', detail: `"${type}": supported values: "Recreate", "RollingUpdate"` });
        }
        if (type === 'Recreate' && spec.strategy?.rollingUpdate !== undefined) {
          errors.push({ field: 'spec.strategy.rollingUpdate', type: 'FieldValueForbidden', detail: "may not be specified when strategy `type` is 'Recreate'" });
        }
        nonNegative(errors, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit);
        if ((spec.progressDeadlineSeconds ?? 600) <= (spec.minReadySeconds ?? 0)) {
          errors.push({
            field: 'spec.progressDeadlineSeconds',
            type: 'FieldValueInvalid',
            detail: `${spec.progressDeadlineSeconds}: must be greater than minReadySeconds`,
          });
        }
      }
      break;
    }
    case R.pods:
      checkPodSpec(errors, 'spec', (o as unknown as { spec: PodSpec }).spec);
      break;
    case R.services: {
      const spec = (o as unknown as { spec: { type?: string; ports?: { name?: string; port: number }[] } }).spec;
      const ports = spec.ports ?? [];
      if (ports.length === 0 && spec.type !== 'ExternalName') errors.push({ field: 'spec.ports', type: 'FieldValueRequired', detail: '' });
      ports.forEach((p, i) => {
        if (p.port < 1 || p.port > 65535)
          errors.push({ field: `spec.ports[${i}].port`, type: 'FieldValueInvalid', detail: `${p.port}: must be between 1 and 65535, inclusive` });
        if (ports.length > 1 && !p.name) errors.push({ field: `spec.ports[${i}].name`, type: 'FieldValueRequired', detail: '' });
      });
      break;
    }
    case R.configmaps:
    case R.secrets: {
      const data = (o as { data?: Record<string, string> }).data ?? {};
      for (const [k, v] of Object.entries(data)) {
        if (!configKey.test(k) || k.length > 253) {
          errors.push({
            field: `data[${k}]`,
            type: 'FieldValueInvalid',
            detail: `"${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
          });
        }
        // The value is not quoted: it may be a secret.
        if (resource === R.secrets && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
          errors.push({ field: `data[${k}]`, type: 'FieldValueInvalid', detail: '<value omitted>: illegal base64 data' });
        }
      }
      break;
    }
    case R.resourcequotas:
      for (const [r, q] of Object.entries((o as { spec?: { hard?: Record<string, string> } }).spec?.hard ?? {})) {
        if (parseQuantity(q) === undefined)
          errors.push({
            field: `spec.hard[${r}]`,
            type: 'FieldValueInvalid',
            detail: `"${q}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
          });
      }
      break;
  }
  return errors;
}

/** Defaults and validates an object about to be stored; throws 422 Invalid. */
export function admit(resource: ResourceType, object: KObject, usedClusterIPs: () => Set<string>): KObject {
  const defaulted = defaults(resource, object, usedClusterIPs);
  const errors = validate(resource, defaulted);
  if (errors.length > 0) throw invalid(resource.kind, resource.group, object.metadata.name, errors);
  return defaulted;
}

/** JSON with sorted keys, so equal objects serialise equally (the sandbox's own: it imports nothing from the worker it simulates for). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Admits a create (no `previous`) or a replacement: keeps what clients cannot
 * change (uid, creationTimestamp) and bumps metadata.generation when the spec of
 * a workload changes, so controllers and `rollout status` can tell a new spec.
 */
export function prepareWrite(resource: ResourceType, previous: KObject | undefined, next: KObject, usedClusterIPs: () => Set<string>): KObject {
  const admitted = admit(resource, next, usedClusterIPs);
  const meta = { ...admitted.metadata };
  if (previous) {
    meta.uid = previous.metadata.uid;
    meta.creationTimestamp = previous.metadata.creationTimestamp;
    if (previous.metadata.deletionTimestamp) meta.deletionTimestamp = previous.metadata.deletionTimestamp;
  }
  if (resource === R.deployments || resource === R.replicasets) {
    const before = previous?.metadata.generation ?? 0;
    meta.generation = !previous ? 1 : canonical(previous.spec) !== canonical(admitted.spec) ? before + 1 : before;
  }
  return { ...admitted, metadata: meta };
}

/** Validates a Scale write (kubectl scale). */
export function validateScale(name: string, replicas: unknown): void {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid('Scale', 'autoscaling', name, [
      { field: 'spec.replicas', type: 'FieldValueInvalid', detail: `${JSON.stringify(replicas)}: must be greater than or equal to 0` },
    ]);
  }
}
