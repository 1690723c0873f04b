// Server-side printing: the Table responses `kubectl get` asks for, with the
// columns and cell formats of kubernetes/pkg/printers/internalversion (the
// server always fills the wide columns; kubectl hides priority-1 ones without -o wide).
import { R, type ResourceType } from './resources.js';
import { formatMapSelector, formatSelector } from './selectors.js';
import { age } from './time.js';
import type { CoreEvent, Deployment, Endpoints, KObject, Node, Pod, ReplicaSet, ResourceQuota, Service } from './types.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  description: string;
}

type Cell = string | number;
interface Printer {
  columns: Column[];
  row: (o: KObject, now: number) => Cell[];
}

const col = (name: string, type: Column['type'], description: string, priority = 0, format = ''): Column => ({ name, type, format, description, priority });
const nameCol = col(
  'Name',
  'string',
  'Name must be unique within a namespace. It is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.',
  0,
  'name',
);
const ageCol = col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');
const created = (o: KObject, now: number) => age(o.metadata.creationTimestamp, now);

function containerCells(template: { spec: { containers: { name: string; image?: string }[] } }): [string, string] {
  const cs = template.spec.containers;
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

function podStatus(pod: Pod, now: number): { ready: string; reason: string; restarts: string } {
  const statuses = pod.status?.containerStatuses ?? [];
  let reason = pod.status?.reason ?? pod.status?.phase ?? 'Pending';
  let restarts = 0;
  let readyCount = 0;
  let lastRestart = 0;
  let hasRunning = false;
  for (let i = statuses.length - 1; i >= 0; i--) {
    const c = statuses[i];
    if (!c) continue;
    restarts += c.restartCount;
    const finished = c.lastState.terminated?.finishedAt;
    if (finished) lastRestart = Math.max(lastRestart, Date.parse(finished));
    if (c.state.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state.terminated?.reason) reason = c.state.terminated.reason;
    else if (c.state.terminated) reason = `ExitCode:${c.state.terminated.exitCode}`;
    else if (c.ready && c.state.running) {
      hasRunning = true;
      readyCount++;
    }
  }
  if (reason === 'Completed' && hasRunning) reason = 'Running';
  if (pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') reason = 'Terminating';
  const restartText = restarts !== 0 && lastRestart ? `${restarts} (${age(new Date(lastRestart).toISOString(), now)} ago)` : String(restarts);
  return { ready: `${readyCount}/${pod.spec.containers.length}`, reason, restarts: restartText };
}

function endpointsText(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    for (const port of ss.ports ?? []) {
      const addresses = ss.addresses ?? [];
      count += addresses.length;
      for (const a of addresses) if (list.length < 3) list.push(`${a.ip}:${port.port}`);
    }
  }
  return count > 3 ? `${list.join(',')} + ${count - 3} more...` : list.join(',');
}

function quotaCells(q: ResourceQuota): [string, string] {
  const hard = q.status?.hard ?? {};
  const requests: string[] = [];
  const limits: string[] = [];
  for (const r of Object.keys(hard).sort()) {
    const text = `${r}: ${q.status?.used?.[r] ?? '0'}/${hard[r]}`;
    (r.startsWith('limits.') ? limits : requests).push(text);
  }
  return [requests.join(', '), limits.join(', ')];
}

const bindingSubjects = (o: KObject, kind: string) =>
  ((o as { subjects?: { kind: string; name: string; namespace?: string }[] }).subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');

const printers = new Map<ResourceType, Printer>([
  [
    R.pods,
    {
      columns: [
        nameCol,
        col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
        col('Status', 'string', 'The aggregate status of the containers in this pod.'),
        col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
        ageCol,
        col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
        col('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
        col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
        col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
      ],
      row: (o, now) => {
        const pod = o as Pod;
        const s = podStatus(pod, now);
        return [
          pod.metadata.name,
          s.ready,
          s.reason,
          s.restarts,
          created(pod, now),
          pod.status?.podIP ?? '<none>',
          pod.spec.nodeName ?? '<none>',
          '<none>',
          '<none>',
        ];
      },
    },
  ],
  [
    R.deployments,
    {
      columns: [
        nameCol,
        col('Ready', 'string', 'Number of the pod with ready state'),
        col('Up-to-date', 'integer', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
        col('Available', 'integer', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
        ageCol,
        col('Containers', 'string', 'Names of each container in the template.', 1),
        col('Images', 'string', 'Images referenced by each container in the template.', 1),
        col(
          'Selector',
          'string',
          'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
          1,
        ),
      ],
      row: (o, now) => {
        const d = o as Deployment;
        const [containers, images] = containerCells(d.spec.template);
        return [
          d.metadata.name,
          `${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? 0}`,
          d.status?.updatedReplicas ?? 0,
          d.status?.availableReplicas ?? 0,
          created(d, now),
          containers,
          images,
          formatSelector(d.spec.selector),
        ];
      },
    },
  ],
  [
    R.replicasets,
    {
      columns: [
        nameCol,
        col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
        col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
        col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
        ageCol,
        col('Containers', 'string', 'Names of each container in the template.', 1),
        col('Images', 'string', 'Images referenced by each container in the template.', 1),
        col('Selector', 'string', 'Selector is a label query over pods that should match the replica count.', 1),
      ],
      row: (o, now) => {
        const rs = o as ReplicaSet;
        const [containers, images] = containerCells(rs.spec.template);
        return [
          rs.metadata.name,
          rs.spec.replicas ?? 0,
          rs.status?.replicas ?? 0,
          rs.status?.readyReplicas ?? 0,
          created(rs, now),
          containers,
          images,
          formatSelector(rs.spec.selector),
        ];
      },
    },
  ],
  [
    R.services,
    {
      columns: [
        nameCol,
        col('Type', 'string', 'type determines how the Service is exposed.'),
        col('Cluster-IP', 'string', 'clusterIP is the IP address of the service.'),
        col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
        col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
        ageCol,
        col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
      ],
      row: (o, now) => {
        const s = o as Service;
        const ports = (s.spec.ports ?? [])
          .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`))
          .join(',');
        return [
          s.metadata.name,
          s.spec.type ?? 'ClusterIP',
          s.spec.clusterIP ?? '<none>',
          s.spec.externalIPs?.join(',') || '<none>',
          ports || '<none>',
          created(s, now),
          formatMapSelector(s.spec.selector),
        ];
      },
    },
  ],
  [
    R.endpoints,
    {
      columns: [nameCol, col('Endpoints', 'string', 'Endpoints of the service.'), ageCol],
      row: (o, now) => [o.metadata.name, endpointsText(o), created(o, now)],
    },
  ],
  [
    R.nodes,
    {
      columns: [
        nameCol,
        col('Status', 'string', 'The status of the node'),
        col('Roles', 'string', 'The roles of the node'),
        ageCol,
        col('Version', 'string', 'Kubelet Version reported by the node.'),
        col('Internal-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
        col('External-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
        col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
        col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
        col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
      ],
      row: (o, now) => {
        const n = o as Node;
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
        const status = [ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown'];
        if (n.spec?.unschedulable) status.push('SchedulingDisabled');
        const roles = Object.keys(n.metadata.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.slice('node-role.kubernetes.io/'.length));
        const addr = (type: string) => n.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';
        const info = n.status?.nodeInfo ?? {};
        return [
          n.metadata.name,
          status.join(','),
          roles.join(',') || '<none>',
          created(n, now),
          info.kubeletVersion ?? '',
          addr('InternalIP'),
          addr('ExternalIP'),
          info.osImage ?? '<unknown>',
          info.kernelVersion ?? '<unknown>',
          info.containerRuntimeVersion ?? '<unknown>',
        ];
      },
    },
  ],
  [
    R.namespaces,
    {
      columns: [nameCol, col('Status', 'string', 'The status of the namespace'), ageCol],
      row: (o, now) => [o.metadata.name, (o as { status?: { phase?: string } }).status?.phase ?? 'Active', created(o, now)],
    },
  ],
  [
    R.events,
    {
      columns: [
        col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
        col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future.'),
        col(
          'Reason',
          'string',
          "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        ),
        col('Object', 'string', 'The object that this event is about.'),
        col(
          'Subobject',
          'string',
          'If the reference is to a portion of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.',
          1,
        ),
        col('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
        col('Message', 'string', 'A human-readable description of the status of this operation.'),
        col('First Seen', 'string', 'The time at which the event was first recorded.', 1),
        col('Count', 'string', 'The number of times this event has occurred.', 1),
        col('Name', 'string', 'Name must be unique within a namespace.', 1, 'name'),
      ],
      row: (o, now) => {
        const e = o as CoreEvent;
        const target = e.involvedObject.name ? `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}` : e.involvedObject.kind.toLowerCase();
        const source = e.source.host ? `${e.source.component}, ${e.source.host}` : e.source.component;
        return [
          age(e.lastTimestamp, now),
          e.type,
          e.reason,
          target,
          e.involvedObject.fieldPath ?? '',
          source,
          e.message.trim(),
          age(e.firstTimestamp, now),
          e.count || 1,
          e.metadata.name,
        ];
      },
    },
  ],
  [
    R.configmaps,
    {
      columns: [nameCol, col('Data', 'integer', 'Data contains the configuration data.'), ageCol],
      row: (o, now) => [
        o.metadata.name,
        Object.keys((o as { data?: object }).data ?? {}).length + Object.keys((o as { binaryData?: object }).binaryData ?? {}).length,
        created(o, now),
      ],
    },
  ],
  [
    R.secrets,
    {
      columns: [nameCol, col('Type', 'string', 'The type of the secret'), col('Data', 'integer', 'The number of entries in the secret'), ageCol],
      row: (o, now) => [o.metadata.name, (o as { type?: string }).type ?? 'Opaque', Object.keys((o as { data?: object }).data ?? {}).length, created(o, now)],
    },
  ],
  [
    R.serviceaccounts,
    {
      columns: [
        nameCol,
        col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'),
        ageCol,
      ],
      row: (o, now) => [o.metadata.name, ((o as { secrets?: unknown[] }).secrets ?? []).length, created(o, now)],
    },
  ],
  [
    R.resourcequotas,
    {
      columns: [
        nameCol,
        ageCol,
        col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
        col('Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
      ],
      row: (o, now) => [o.metadata.name, created(o, now), ...quotaCells(o)],
    },
  ],
  [
    R.ingresses,
    {
      columns: [
        nameCol,
        col('Class', 'string', 'The name of the IngressClass resource that should be used for ingress'),
        col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
        col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
        col('Ports', 'string', 'Ports of TLS configurations that open'),
        ageCol,
      ],
      row: (o, now) => {
        const ing = o as KObject & {
          spec?: { ingressClassName?: string; rules?: { host?: string }[]; tls?: unknown[] };
          status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
        };
        const hosts = (ing.spec?.rules ?? []).map((r) => r.host ?? '*');
        const address = (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').join(',');
        return [
          ing.metadata.name,
          ing.spec?.ingressClassName ?? '<none>',
          hosts.join(',') || '*',
          address,
          ing.spec?.tls?.length ? '80, 443' : '80',
          created(ing, now),
        ];
      },
    },
  ],
  ...[R.rolebindings, R.clusterrolebindings].map(
    (r) =>
      [
        r,
        {
          columns: [
            nameCol,
            col('Role', 'string', 'RoleRef is the reference to the role'),
            ageCol,
            col('Users', 'string', 'Users in the roleBinding', 1),
            col('Groups', 'string', 'Groups in the roleBinding', 1),
            col('ServiceAccounts', 'string', 'ServiceAccounts in the roleBinding', 1),
          ],
          row: (o: KObject, now: number) => {
            const ref = (o as { roleRef?: { kind: string; name: string } }).roleRef;
            return [
              o.metadata.name,
              ref ? `${ref.kind}/${ref.name}` : '',
              created(o, now),
              bindingSubjects(o, 'User'),
              bindingSubjects(o, 'Group'),
              bindingSubjects(o, 'ServiceAccount'),
            ];
          },
        },
      ] as [ResourceType, Printer],
  ),
]);

const defaultPrinter: Printer = {
  columns: [nameCol, col('Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.')],
  row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function partialObjectMetadata(o: KObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/** A meta.k8s.io Table of the objects, with each row's object as includeObject asks. */
export function toTable(
  resource: ResourceType,
  objects: KObject[],
  options: { apiVersion: string; include: IncludeObject; resourceVersion: string; continueToken?: string; columns?: boolean },
): Record<string, unknown> {
  const printer = printers.get(resource) ?? defaultPrinter;
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: options.apiVersion,
    metadata: { resourceVersion: options.resourceVersion, ...(options.continueToken ? { continue: options.continueToken } : {}) },
    ...(options.columns === false ? {} : { columnDefinitions: printer.columns }),
    rows: objects.map((o) => ({
      cells: printer.row(o, now),
      object: options.include === 'None' ? null : options.include === 'Object' ? o : partialObjectMetadata(o),
    })),
  };
}
