// The only place that reads Secrets. It hands out key names (runbook step 4)
// and a redactor that masks the values; the values themselves never leave this
// module: not in a result, a log line or an error.
import type { V1PodSpec } from '@kubernetes/client-node';
import { callOptional } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { podSpecReferences, secretEnvLiterals } from './pod-spec.js';
import { redact, type Redactor } from './redact.js';

export interface SecretKeys {
  name: string;
  exists: boolean;
  keys: string[];
}

export interface PodSecrets {
  secrets: SecretKeys[];
  /** Masks the values of these secrets and the pod spec's secret env literals. */
  redactor: Redactor;
}

/** Reads the secrets a pod template references (`kubectl get secret X`: names and keys, no values). */
export async function readPodSecrets(k: KubeClients, namespace: string, spec: V1PodSpec | undefined): Promise<PodSecrets> {
  const names = podSpecReferences(spec).secrets;
  const literals = secretEnvLiterals(spec);
  const secrets = await Promise.all(
    names.map(async (name): Promise<SecretKeys> => {
      const secret = await callOptional(k, { verb: 'get', resource: 'secrets', name, namespace }, () => k.core.readNamespacedSecret({ name, namespace }));
      if (!secret) return { name, exists: false, keys: [] };
      const values = [
        ...Object.values(secret.data ?? {}).map((encoded) => Buffer.from(encoded, 'base64').toString('utf8')),
        ...Object.values(secret.stringData ?? {}),
      ];
      // Logs are read line by line: a multi-line value (a PEM key) is masked line by line too.
      for (const value of values) literals.push(value, ...value.split('\n').map((line) => line.trim()));
      literals.push(...Object.values(secret.data ?? {}));
      return { name, exists: true, keys: [...new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})])].sort() };
    }),
  );
  return { secrets, redactor: redact.withLiterals(literals) };
}
