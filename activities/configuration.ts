// Runbook step 4: `kubectl get configmap X -o yaml`, `kubectl get secret X`
// (key names only), and the env the pod template needs (env valueFrom,
// envFrom) checked against those objects: no `kubectl exec ... env`.
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
  return ConfigFindingsSchema.parse({
    configMaps: configMaps.map(({ name, object }) => configMapFindings(name, object, redactor)),
    secrets,
    missingEnv: missingEnv(spec, references, { configMap: configMapKeys, secret: secretKeys }, deps.requiredEnv),
  });
}
