// Writes a kubeconfig for the sandbox that kubectl and @kubernetes/client-node
// both load as is: one cluster (https on loopback, the sandbox's own certificate
// as its CA), one user with the bearer token, one context in namespace default.
// Mode 0600: it holds a credential.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** JSON strings are valid YAML double-quoted scalars, so values need no other escaping. */
const q = (s: string) => JSON.stringify(s);

function kubeconfigText(server: string, token: string, caPem: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sandbox',
    '  cluster:',
    `    server: ${q(server)}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    '- name: sandbox-admin',
    '  user:',
    `    token: ${q(token)}`,
    'contexts:',
    '- name: sandbox',
    '  context:',
    '    cluster: sandbox',
    '    user: sandbox-admin',
    '    namespace: default',
    'current-context: sandbox',
    'preferences: {}',
    '',
  ].join('\n');
}

export function writeKubeconfig(path: string, server: string, token: string, caPem: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigText(server, token, caPem), { mode: 0o600 });
}
