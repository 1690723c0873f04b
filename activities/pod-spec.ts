// What a pod template needs from config maps and secrets (env, envFrom,
// volumes), and which of its literal env values are secrets. Step 4 checks the
// needs against the cluster; the log reader masks the secrets.
import type { V1PodSpec } from '@kubernetes/client-node';
import { looksSecretName } from './redact.js';

export interface EnvNeed {
  variable: string;
  source: 'secret' | 'configMap';
  object: string;
  /** The key the variable reads; '*' for envFrom, which needs the whole object. */
  key: string;
  optional: boolean;
}

export interface PodSpecReferences {
  configMaps: string[];
  secrets: string[];
  env: EnvNeed[];
}

export function podSpecReferences(spec: V1PodSpec | undefined): PodSpecReferences {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const env: EnvNeed[] = [];
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const variable of container.env ?? []) {
      const secretRef = variable.valueFrom?.secretKeyRef;
      const configMapRef = variable.valueFrom?.configMapKeyRef;
      if (secretRef?.name) {
        secrets.add(secretRef.name);
        env.push({ variable: variable.name, source: 'secret', object: secretRef.name, key: secretRef.key, optional: secretRef.optional ?? false });
      } else if (configMapRef?.name) {
        configMaps.add(configMapRef.name);
        env.push({ variable: variable.name, source: 'configMap', object: configMapRef.name, key: configMapRef.key, optional: configMapRef.optional ?? false });
      }
    }
    for (const from of container.envFrom ?? []) {
      const prefix = from.prefix ?? '';
      if (from.secretRef?.name) {
        secrets.add(from.secretRef.name);
        env.push({ variable: `${prefix}*`, source: 'secret', object: from.secretRef.name, key: '*', optional: from.secretRef.optional ?? false });
      } else if (from.configMapRef?.name) {
        configMaps.add(from.configMapRef.name);
        env.push({ variable: `${prefix}*`, source: 'configMap', object: from.configMapRef.name, key: '*', optional: from.configMapRef.optional ?? false });
      }
    }
  }
  for (const volume of spec?.volumes ?? []) {
    if (volume.configMap?.name) configMaps.add(volume.configMap.name);
    if (volume.secret?.secretName) secrets.add(volume.secret.secretName);
    for (const source of volume.projected?.sources ?? []) {
      if (source.configMap?.name) configMaps.add(source.configMap.name);
      if (source.secret?.name) secrets.add(source.secret.name);
    }
  }
  return { configMaps: [...configMaps], secrets: [...secrets], env };
}

/** Literal env values whose variable name looks secret (API_KEY: "sk-..."): masked wherever they appear. */
export function secretEnvLiterals(spec: V1PodSpec | undefined): string[] {
  const literals: string[] = [];
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const variable of container.env ?? []) {
      if (variable.value && looksSecretName(variable.name)) literals.push(variable.value);
    }
  }
  return literals;
}
