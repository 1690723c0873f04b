// The processes of a real Kubernetes control plane on loopback: etcd (Debian's
// etcd-server), kube-apiserver, kube-controller-manager and kube-scheduler
// (v1.34.2, built by scripts/provision-cluster.sh) and kwok, which keeps the fake
// nodes Ready. Every address is inside 127.0.0.0/8: the API server, the service
// range, the nodes (kwok's node IP) and their pod ranges; see addresses.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ProcessGroup, waitFor, type ManagedProcess } from '../local-stack/processes.js';
import type { AuditEntry } from '../sandbox/audit.js';
import { serviceRange } from './addresses.js';
import type { Credentials } from './credentials.js';

const root = resolve(import.meta.dirname, '..');
export const toolsBin = join(root, '.tools', 'bin');

/** Where each binary comes from, for the one-line error when it is missing. */
const binaries = {
  'kube-apiserver': join(toolsBin, 'kube-apiserver'),
  'kube-controller-manager': join(toolsBin, 'kube-controller-manager'),
  'kube-scheduler': join(toolsBin, 'kube-scheduler'),
  kwok: join(toolsBin, 'kwok'),
} as const;

function etcdPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Throws one line that names what is missing and the command that provides it. */
export function checkBinaries(): { etcd: string } & typeof binaries {
  const missing = Object.entries(binaries)
    .filter(([, path]) => !existsSync(path))
    .map(([name]) => name);
  const etcd = etcdPath();
  if (!etcd) throw new Error('etcd is not installed: run `apt-get install etcd-server` (Debian), then `npm run provision:cluster`');
  if (missing.length > 0)
    throw new Error(
      `${missing.join(', ')} not built: run \`npm run provision:cluster\` (builds them into .tools/bin from the Go module proxy; about 10 minutes the first time)`,
    );
  return { etcd, ...binaries };
}

/**
 * A free TCP port on 127.0.0.1, below the kernel's ephemeral range (32768-60999 on
 * Linux). The port is handed to a component that binds it later; one of the
 * kernel's own choosing can meanwhile be taken as the local port of any outgoing
 * connection, which made a component fail with EADDRINUSE now and then.
 */
export async function freePort(): Promise<number> {
  const { port, release } = await reservePort();
  await release();
  return port;
}

/**
 * A free port held by a listening socket until `release`: for a port our own process serves
 * later (the node agent's kubelet endpoint), so that no other process can take it meanwhile.
 */
export async function reservePort(): Promise<{ port: number; release: () => Promise<void> }> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const held = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!held) continue;
    let released: Promise<void> | undefined;
    return { port, release: () => (released ??= new Promise<void>((r) => server.close(() => r()))) };
  }
}

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  /** The kubelet endpoint of every fake node: the node agent's HTTPS server (logs). */
  kubelet: number;
}

/** The ports of a control plane; the kubelet's stays held (releaseKubelet) until the node agent listens on it. */
export async function choosePorts(apiserver = 0): Promise<Ports & { releaseKubelet: () => Promise<void> }> {
  const kubelet = await reservePort();
  return {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: apiserver || (await freePort()),
    kubelet: kubelet.port,
    releaseKubelet: kubelet.release,
  };
}

// kwok's node stages (initialize, then heartbeat with a lease), as kwok ships them;
// its pod stages are replaced by one that matches no pod: pods belong to the node
// agent, which runs the service's containers as the sandbox models them.
/** The node's conditions, all healthy, with a fresh heartbeat: what both node stages write. */
const nodeConditions = `      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}`;

/** A node's allocatable or capacity: as registered, or a 4-CPU, 16Gi node's. */
const nodeResources = (field: 'allocatable' | 'capacity') => `      ${field}:
      {{ with .status.${field} }}
      {{ YAML . 1 }}
      {{ else }}
        cpu: "4"
        memory: 16Gi
        pods: "110"
      {{ end }}`;

const kwokConfig = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
${nodeConditions}
      addresses:
      {{ with .status.addresses }}
      {{ YAML . 1 }}
      {{ else }}
      - address: {{ NodeIP | Quote }}
        type: InternalIP
      - address: {{ .metadata.name | Quote }}
        type: Hostname
      {{ end }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ NodePort }}
${nodeResources('allocatable')}
${nodeResources('capacity')}
      nodeInfo:
        architecture: amd64
        containerRuntimeVersion: {{ printf "kwok-%s" Version }}
        kernelVersion: {{ printf "kwok-%s" Version }}
        kubeletVersion: {{ printf "kwok-%s" Version }}
        operatingSystem: linux
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat-with-lease
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
  delay:
    durationMilliseconds: 600000
    jitterDurationMilliseconds: 610000
  next:
    statusTemplate: |
${nodeConditions}
  immediateNextStage: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pods-belong-to-the-node-agent
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: '.metadata.annotations["incident-response/never"]'
      operator: Exists
  next:
    statusTemplate: '{}'
`;

/** The worker's ServiceAccount, as the API server names its user. */
export const workerUser = 'system:serviceaccount:incident-response:incident-worker';

// Every write the incident worker makes (dry runs too), with its request body
// (the patch: it carries the idempotency key); nothing else is audited.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
# Questions (kubectl auth can-i) are not writes.
- level: None
  resources: [{group: authorization.k8s.io}]
- level: Request
  users: ["${workerUser}"]
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`;

export const auditLogPath = (dir: string) => join(dir, 'logs', 'audit.log');

/** client-go's watch-list needs an etcd newer than Debian's 3.4; without this the components log a fallback warning every second. */
const noWatchList = { KUBE_FEATURE_WatchListClient: 'false' };

export interface Components {
  readonly group: ProcessGroup;
  readonly processes: ManagedProcess[];
}

/** Starts etcd, the API server, the controller manager, the scheduler and kwok; resolves when the API server is ready. */
export async function startComponents(dir: string, ports: Ports, credentials: Credentials, say: (line: string) => void): Promise<Components> {
  const bin = checkBinaries();
  const group = new ProcessGroup(join(dir, 'logs'), say);
  const processes: ManagedProcess[] = [];
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const auditPolicyFile = join(dir, 'audit-policy.yaml');
  writeFileSync(auditPolicyFile, auditPolicy);
  const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  processes.push(
    group.start('etcd', bin.etcd, [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--log-level=warn',
    ]),
  );
  await waitFor(async () => (await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(1_000) })).ok, `etcd on ${etcdUrl}`, 30_000);

  processes.push(
    group.start('kube-apiserver', bin['kube-apiserver'], [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${credentials.files.servingCert}`,
      `--tls-private-key-file=${credentials.files.servingKey}`,
      `--token-auth-file=${credentials.files.tokens}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${credentials.files.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${credentials.files.serviceAccountKey}`,
      `--service-cluster-ip-range=${serviceRange}`,
      // No endpoints for the `kubernetes` service: its only address would be this loopback one.
      '--endpoint-reconciler-type=none',
      // Logs are fetched from the node's InternalIP (127.0.0.1), never from a name to resolve.
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
      // The incident worker's writes, as the API server saw them: the proof that a fix was written once.
      `--audit-policy-file=${auditPolicyFile}`,
      `--audit-log-path=${auditLogPath(dir)}`,
      '--audit-log-mode=blocking',
    ]),
  );
  await waitFor(async () => (await credentials.get(`${server}/readyz`)).status === 200, `kube-apiserver on ${server}`, 60_000);

  const common = (kubeconfig: string) => [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
  ];
  processes.push(
    group.start(
      'kube-controller-manager',
      bin['kube-controller-manager'],
      [
        ...common(credentials.files.controllerManagerKubeconfig),
        `--service-account-private-key-file=${credentials.files.serviceAccountKey}`,
        `--root-ca-file=${credentials.files.servingCert}`,
        '--use-service-account-credentials=true',
        // Pod ranges are the nodes' own (set when they register, inside 127.0.0.0/8); no cloud.
        '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
        '--concurrent-deployment-syncs=5',
      ],
      noWatchList,
    ),
  );
  processes.push(group.start('kube-scheduler', bin['kube-scheduler'], common(credentials.files.schedulerKubeconfig), noWatchList));
  const kwokConfigFile = join(dir, 'kwok.yaml');
  writeFileSync(kwokConfigFile, kwokConfig);
  processes.push(
    group.start(
      'kwok',
      bin.kwok,
      [
        `--kubeconfig=${credentials.files.kwokKubeconfig}`,
        `--config=${kwokConfigFile}`,
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--node-ip=127.0.0.1',
        `--node-port=${ports.kubelet}`,
        '--server-address=127.0.0.1:0',
        '--node-lease-duration-seconds=40',
      ],
      noWatchList,
    ),
  );
  return { group, processes };
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  requestURI?: string;
  requestReceivedTimestamp?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestObject?: { metadata?: { annotations?: Record<string, string | null> } } | { op?: string; path?: string; value?: unknown }[];
}

/** The idempotency key a write's body sets: a merge or strategic patch's annotations, or a JSON patch's. */
function keyOf(body: AuditEvent['requestObject'], annotation: string): string | undefined {
  if (Array.isArray(body)) {
    const escaped = annotation.replace(/~/g, '~0').replace(/\//g, '~1');
    for (const op of body) {
      if (op.path === `/metadata/annotations/${escaped}` && typeof op.value === 'string') return op.value;
      const value = op.path === '/metadata/annotations' ? (op.value as Record<string, unknown> | undefined)?.[annotation] : undefined;
      if (typeof value === 'string') return value;
    }
    return undefined;
  }
  const value = body?.metadata?.annotations?.[annotation];
  return typeof value === 'string' ? value : undefined;
}

/** The worker's successful writes from the API server's audit log, in the sandbox's AuditEntry shape. */
export function readAudit(dir: string, idempotencyKeyAnnotation: string): AuditEntry[] {
  const path = auditLogPath(dir);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && (e.responseStatus?.code ?? 0) < 400)
    .map((e) => {
      const query = new URL(e.requestURI ?? '/', 'https://x').searchParams;
      const key = keyOf(e.requestObject, idempotencyKeyAnnotation);
      const fieldManager = query.get('fieldManager') ?? undefined;
      return {
        time: e.requestReceivedTimestamp ?? '',
        verb: e.verb ?? '',
        resource: e.objectRef?.resource ?? '',
        ...(e.objectRef?.subresource ? { subresource: e.objectRef.subresource } : {}),
        ...(e.objectRef?.namespace ? { namespace: e.objectRef.namespace } : {}),
        name: e.objectRef?.name ?? '',
        user: e.user?.username ?? '',
        ...(fieldManager ? { fieldManager } : {}),
        dryRun: query.get('dryRun') === 'All',
        ...(key !== undefined ? { idempotencyKey: key } : {}),
      };
    });
}
