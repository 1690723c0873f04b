// The API resources the sandbox serves: what discovery advertises and how
// request paths map to stored objects.

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  /** Subresources with the kind and verbs discovery lists for them. */
  readonly subresources: Readonly<Record<string, { kind: string; group?: string; version?: string; verbs: readonly string[] }>>;
  /** Computed on read (metrics) rather than stored. */
  readonly computed?: boolean;
}

const rw = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
const status = (kind: string) => ({ status: { kind, verbs: ['get', 'patch', 'update'] } });

function resource(r: Partial<ResourceType> & Pick<ResourceType, 'group' | 'version' | 'plural' | 'kind' | 'namespaced'>): ResourceType {
  return {
    singular: r.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    verbs: rw,
    subresources: {},
    ...r,
  };
}

export const R = {
  namespaces: resource({
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    subresources: status('Namespace'),
  }),
  nodes: resource({ group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], subresources: status('Node') }),
  pods: resource({
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    subresources: {
      ...status('Pod'),
      log: { kind: 'Pod', verbs: ['get'] },
      proxy: { kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    },
  }),
  events: resource({ group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] }),
  resourcequotas: resource({
    group: '',
    version: 'v1',
    plural: 'resourcequotas',
    singular: 'resourcequota',
    kind: 'ResourceQuota',
    namespaced: true,
    shortNames: ['quota'],
    subresources: status('ResourceQuota'),
  }),
  configmaps: resource({ group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
  secrets: resource({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true }),
  services: resource({
    group: '',
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    subresources: { ...status('Service'), proxy: { kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] } },
  }),
  endpoints: resource({ group: '', version: 'v1', plural: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] }),
  serviceaccounts: resource({ group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] }),
  deployments: resource({
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: { ...status('Deployment'), scale: { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] } },
  }),
  replicasets: resource({
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    subresources: { ...status('ReplicaSet'), scale: { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] } },
  }),
  endpointslices: resource({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true }),
  ingresses: resource({
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'ingresses',
    kind: 'Ingress',
    namespaced: true,
    shortNames: ['ing'],
    subresources: status('Ingress'),
  }),
  roles: resource({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role', namespaced: true }),
  rolebindings: resource({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true }),
  clusterroles: resource({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
  clusterrolebindings: resource({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
  }),
  podmetrics: resource({
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    plural: 'pods',
    singular: 'podmetrics',
    kind: 'PodMetrics',
    namespaced: true,
    verbs: ['get', 'list'],
    computed: true,
  }),
  nodemetrics: resource({
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    plural: 'nodes',
    singular: 'nodemetrics',
    kind: 'NodeMetrics',
    namespaced: false,
    verbs: ['get', 'list'],
    computed: true,
  }),
} as const;

export const allResources: readonly ResourceType[] = Object.values(R);

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

const byPath = new Map<string, ResourceType>(allResources.map((r) => [`${apiVersionOf(r)}/${r.plural}`, r]));

/** The resource served at /api/<v>/<plural> or /apis/<g>/<v>/<plural>. */
export function lookupResource(group: string, version: string, plural: string): ResourceType | undefined {
  return byPath.get(`${apiVersionOf({ group, version })}/${plural}`);
}

const versions = (() => {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of allResources) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
})();

/** Group versions in discovery order; the core group is served at /api. */
export function groupVersions(): readonly { group: string; version: string }[] {
  return versions;
}
