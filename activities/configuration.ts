// Runbook step 4: `kubectl get configmap X -o yaml`, `kubectl get secret X`
// (key names only), and the env the pod template needs (env valueFrom,
// envFrom) checked against those objects, and the variables the runbook greps
// for (`env | grep -E "(ANTHROPIC|LOG|AGENT)"`) listed from the pod spec: no
// `kubectl exec ... env`.
import type { V1ConfigMap, V1PodSpec } from '@kubernetes/client-node';
import { ConfigFindingsSchema, type ConfigFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { callOptional } from './kube/call.js';
import { sha256 } from './digest.js';
import { lastAppliedAnnotation, readDeployment } from './kube/objects.js';
import { podSpecReferences, type EnvNeed, type PodSpecReferences } from './pod-spec.js';
import { looksSecretName, truncate, type Redactor } from './redact.js';
import { readPodSecrets } from './secrets.js';

const maxKeys = 50;
const maxValueLength = 500;

/** The `data` of the config map as `kubectl apply` last wrote it, if it was applied. */
export function lastAppliedData(configMap: V1ConfigMap): Record<string, string> | undefined {
  const annotation = configMap.metadata?.annotations?.[lastAppliedAnnotation];
  if (!annotation) return undefined;
  try {
    const applied = JSON.parse(annotation) as { data?: unknown };
    if (applied.data === undefined) return {};
    if (typeof applied.data !== 'object' || applied.data === null) return undefined;
    return Object.fromEntries(Object.entries(applied.data).map(([key, value]) => [key, String(value)]));
  } catch {
    return undefined;
  }
}

/** Keys whose value differs between the live data and the last applied data. */
export function configDrift(current: Record<string, string>, lastApplied: Record<string, string>): { key: string; current?: string; lastApplied?: string }[] {
  const keys = [...new Set([...Object.keys(current), ...Object.keys(lastApplied)])].sort();
  return keys.filter((key) => current[key] !== lastApplied[key]).map((key) => ({ key, current: current[key], lastApplied: lastApplied[key] }));
}

function shown(data: Record<string, string>, redactor: Redactor): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data)
      .slice(0, maxKeys)
      .map(([key, value]) => [key, truncate(redactor.value(key, value), maxValueLength)]),
  );
}

function configMapFindings(name: string, configMap: V1ConfigMap | undefined, redactor: Redactor): ConfigFindings['configMaps'][number] {
  if (!configMap) return { name, exists: false, data: {}, drift: [] };
  const data = configMap.data ?? {};
  const lastApplied = lastAppliedData(configMap);
  const mask = (key: string, value: string | undefined) => (value === undefined ? undefined : truncate(redactor.value(key, value), maxValueLength));
  return {
    name,
    exists: true,
    data: shown(data, redactor),
    drift: lastApplied
      ? configDrift(data, lastApplied)
          .slice(0, maxKeys)
          .map((d) => ({
            key: d.key,
            current: mask(d.key, d.current),
            lastApplied: mask(d.key, d.lastApplied),
            // What a restore is approved against: the exact value, named without showing it.
            ...(d.lastApplied === undefined ? {} : { lastAppliedSha256: sha256(d.lastApplied) }),
          }))
      : [],
    lastApplied: lastApplied ? shown(lastApplied, redactor) : undefined,
  };
}

type KeysByObject = Record<EnvNeed['source'], Map<string, Set<string> | undefined>>;

/**
 * Env the pods need that their sources do not provide: references to a key or
 * object that does not exist, and required variables that no env entry or
 * envFrom object provides (reported against the envFrom object expected to
 * carry them: a secret for a secret-looking name).
 */
export function missingEnv(spec: V1PodSpec | undefined, references: PodSpecReferences, keys: KeysByObject, required: string[]): ConfigFindings['missingEnv'] {
  const missing = references.env
    .filter((need) => {
      if (need.optional) return false;
      const present = keys[need.source].get(need.object);
      return present === undefined || (need.key !== '*' && !present.has(need.key));
    })
    .map(({ variable, source, object, key }) => ({ variable, source, object, key }));
  for (const container of spec?.containers ?? []) {
    const provided = new Set((container.env ?? []).map((e) => e.name));
    const sources = (container.envFrom ?? []).flatMap((from) => {
      const source: EnvNeed['source'] | undefined = from.secretRef?.name ? 'secret' : from.configMapRef?.name ? 'configMap' : undefined;
      const object = from.secretRef?.name ?? from.configMapRef?.name;
      return source && object ? [{ source, object, prefix: from.prefix ?? '' }] : [];
    });
    for (const { source, object, prefix } of sources) for (const key of keys[source].get(object) ?? []) provided.add(`${prefix}${key}`);
    for (const variable of required) {
      if (provided.has(variable) || missing.some((m) => m.variable === variable)) continue;
      const preferred = looksSecretName(variable) ? 'secret' : 'configMap';
      const from = sources.find((s) => s.source === preferred) ?? sources[0];
      missing.push({ variable, source: from?.source ?? preferred, object: from?.object ?? '', key: from ? variable.slice(from.prefix.length) : variable });
    }
  }
  return missing;
}

type EnvEntry = NonNullable<ConfigFindings['env']>[number];

/**
 * The runbook's `kubectl exec … -- env | grep -E "(ANTHROPIC|LOG|AGENT)"`, from
 * the pod spec instead of a shell: every variable whose name matches, as the
 * container would get it (an env entry overrides envFrom), with its source and
 * whether it is set. A secret's value is never shown; other values are redacted.
 */
export function envListing(
  spec: V1PodSpec | undefined,
  pattern: RegExp,
  keys: KeysByObject,
  configMapData: Map<string, Record<string, string>>,
  redactor: Redactor,
): EnvEntry[] {
  const byName = new Map<string, EnvEntry>();
  const show = (key: string, value: string) => truncate(redactor.value(key, value), maxValueLength);
  for (const container of spec?.containers ?? []) {
    const entries = new Map<string, EnvEntry>();
    for (const from of container.envFrom ?? []) {
      const source: EnvNeed['source'] | undefined = from.secretRef?.name ? 'secret' : from.configMapRef?.name ? 'configMap' : undefined;
      const object = from.secretRef?.name ?? from.configMapRef?.name ?? '';
      if (!source) continue;
      for (const key of keys[source].get(object) ?? []) {
        const variable = `${from.prefix ?? ''}${key}`;
        const value = source === 'configMap' ? configMapData.get(object)?.[key] : undefined;
        entries.set(variable, { variable, source, object, present: true, ...(value === undefined ? {} : { value: show(key, value) }) });
      }
    }
    for (const e of container.env ?? []) {
      const secretRef = e.valueFrom?.secretKeyRef;
      const configMapRef = e.valueFrom?.configMapKeyRef;
      if (secretRef?.name) {
        entries.set(e.name, {
          variable: e.name,
          source: 'secret',
          object: secretRef.name,
          present: keys.secret.get(secretRef.name)?.has(secretRef.key) ?? false,
        });
      } else if (configMapRef?.name) {
        const value = configMapData.get(configMapRef.name)?.[configMapRef.key];
        entries.set(e.name, {
          variable: e.name,
          source: 'configMap',
          object: configMapRef.name,
          present: value !== undefined,
          ...(value === undefined ? {} : { value: show(e.name, value) }),
        });
      } else if (!e.valueFrom) {
        entries.set(e.name, {
          variable: e.name,
          source: 'literal',
          present: e.value !== undefined,
          ...(e.value === undefined ? {} : { value: show(e.name, e.value) }),
        });
      }
    }
    for (const [name, entry] of entries) if (pattern.test(name) && !byName.has(name)) byName.set(name, entry);
  }
  return [...byName.values()].sort((a, b) => a.variable.localeCompare(b.variable)).slice(0, maxKeys);
}

export async function inspectConfiguration(deps: ActivityDeps, service: ServiceRef): Promise<ConfigFindings> {
  const k = deps.kube.clients(service.cluster);
  const { namespace } = service;
  const deployment = await readDeployment(k, service);
  if (!deployment) return { configMaps: [], secrets: [], missingEnv: [] };
  const spec = deployment.spec?.template?.spec;
  const references = podSpecReferences(spec);
  const [configMaps, { secrets, redactor }] = await Promise.all([
    Promise.all(
      references.configMaps.map(async (name) => ({
        name,
        object: await callOptional(k, { verb: 'get', resource: 'configmaps', name, namespace }, () => k.core.readNamespacedConfigMap({ name, namespace })),
      })),
    ),
    readPodSecrets(k, namespace, spec),
  ]);
  const configMapKeys = new Map(
    configMaps.map(({ name, object }) => [name, object ? new Set([...Object.keys(object.data ?? {}), ...Object.keys(object.binaryData ?? {})]) : undefined]),
  );
  const secretKeys = new Map(secrets.map((s) => [s.name, s.exists ? new Set(s.keys) : undefined]));
  const keys = { configMap: configMapKeys, secret: secretKeys };
  const configMapData = new Map(configMaps.map(({ name, object }) => [name, object?.data ?? {}]));
  const pattern = new RegExp(deps.envPattern);
  const missing = missingEnv(spec, references, keys, deps.requiredEnv);
  const env = envListing(spec, pattern, keys, configMapData, redactor);
  // What `env | grep` would not print: a matching variable the pods need and do not get.
  for (const m of missing) {
    if (pattern.test(m.variable) && !env.some((e) => e.variable === m.variable))
      env.push({ variable: m.variable, source: m.source, object: m.object, present: false });
  }
  return ConfigFindingsSchema.parse({
    configMaps: configMaps.map(({ name, object }) => configMapFindings(name, object, redactor)),
    secrets,
    missingEnv: missing,
    env: env.sort((a, b) => a.variable.localeCompare(b.variable)).slice(0, maxKeys),
  });
}
