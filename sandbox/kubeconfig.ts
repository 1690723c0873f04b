// Writes a kubeconfig for the sandbox that kubectl and @kubernetes/client-node
// both load as is: one cluster (https on loopback, the sandbox's own certificate
// as its CA), one user with the bearer token, one context in namespace default.
// Mode 0600: it holds a credential.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** JSON strings are valid YAML double-quoted scalars, so values need no other escaping. */
const q = (s: string) => JSON.stringify(s);

function kubeconfigText(server: string, token: string, caPem: string, name: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${q(server)}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${q(token)}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${user}`,
    '    namespace: default',
    `current-context: ${name}`,
    'preferences: {}',
    '',
  ].join('\n');
}

/** `name` is the cluster's and the context's; `user` the credential's. */
export function writeKubeconfig(path: string, server: string, token: string, caPem: string, name = 'sandbox', user = `${name}-admin`): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigText(server, token, caPem, name, user), { mode: 0o600 });
}
