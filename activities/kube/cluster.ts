// Cluster access: one set of API clients per cluster an alert can name. The
// alert's `cluster` label picks a kubeconfig context (KUBE_CONTEXTS); the
// default cluster is the kubeconfig's current context, or the in-cluster
// service account when the worker runs in the cluster it repairs.
import { Agent } from 'node:https';
import { delimiter } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  ServerConfiguration,
  createConfiguration,
  type Middleware,
  type SecurityAuthentication,
} from '@kubernetes/client-node';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import { FailureTypes } from '../types.js';

export interface KubeClients {
  /** The cluster name as alerts say it, and the kubeconfig context serving it (for messages). */
  cluster: string;
  context: string;
  /** The activity logger: call() says when it reads again in place. */
  logger: Logger;
  /** The API server's base URL, for the calls the generated clients cannot shape (service proxy paths). */
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  networking: NetworkingV1Api;
  rbac: RbacAuthorizationV1Api;
  custom: CustomObjectsApi;
}

export interface ClusterAccess {
  /** The clients for an alert's cluster; a non-retryable BadRequest for a cluster the worker does not know. */
  clients(cluster: string): KubeClients;
}

export interface ClusterAccessOptions {
  /** A kubeconfig file; absent: the in-cluster service account if `inCluster`, else KUBECONFIG / ~/.kube/config. */
  kubeconfigPath?: string | undefined;
  inCluster?: boolean | undefined;
  /** Alert cluster label → kubeconfig context. */
  contexts: Record<string, string>;
  /** The cluster the current context (or the in-cluster account) stands for. */
  defaultCluster: string;
  /** Every API call is aborted after this long (a hung connection then retries like a dropped one). */
  requestTimeoutMs: number;
  logger: Logger;
}

/** Aborts each request after `ms`: the generated clients have no timeout of their own. */
function timeoutMiddleware(ms: number): Middleware {
  return {
    pre: async (request) => {
      request.setSignal(AbortSignal.timeout(ms));
      return request;
    },
    post: async (response) => response,
  };
}

/**
 * The kubeconfig's authentication (token, exec plugin, client certificate)
 * over one keep-alive connection pool per cluster: the client builds a new
 * agent, hence a new TLS handshake, for every request. The pool is replaced
 * when the TLS material changes (a rotated client certificate); proxied
 * clusters keep the client's own agents.
 */
function pooledAuthentication(kc: KubeConfig): SecurityAuthentication {
  let pool: { material: string; agent: Agent } | undefined;
  return {
    getName: () => 'kubeconfig (pooled connections)',
    async applySecurityAuthentication(context) {
      await kc.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (!(fresh instanceof Agent) || fresh.constructor !== Agent) return;
      const { ca, cert, key, pfx } = fresh.options;
      const material = JSON.stringify([ca, cert, key, pfx]);
      if (pool?.material !== material) pool = { material, agent: new Agent({ ...fresh.options, keepAlive: true }) };
      context.setAgent(pool.agent);
    },
  };
}

function loadBase(options: ClusterAccessOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfigPath) {
    // A KUBECONFIG-style list (a:b) merges its files, the first one's current context winning, as kubectl does.
    const [first = '', ...rest] = options.kubeconfigPath.split(delimiter).filter(Boolean);
    kc.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
  } else if (options.inCluster) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

function clientsFor(base: KubeConfig, cluster: string, context: string, options: ClusterAccessOptions): KubeClients {
  // Each context gets its own KubeConfig: auth is applied from the current context at request time.
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: base.getClusters(), users: base.getUsers(), contexts: base.getContexts(), currentContext: context });
  const server = kc.getCurrentCluster()?.server.replace(/\/+$/, '');
  if (!server) throw new Error(`kubeconfig context '${context}' (cluster '${cluster}') names no cluster server`);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: pooledAuthentication(kc) },
    promiseMiddleware: [timeoutMiddleware(options.requestTimeoutMs)],
  });
  return {
    cluster,
    context,
    logger: options.logger,
    server,
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    networking: new NetworkingV1Api(configuration),
    rbac: new RbacAuthorizationV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
  };
}

/**
 * Builds the clients of every configured cluster at once, so a context missing
 * from the kubeconfig stops the worker at start-up rather than at the first alert.
 */
export function kubeconfigClusterAccess(options: ClusterAccessOptions): ClusterAccess {
  const base = loadBase(options);
  const known = new Set(base.getContexts().map((c) => c.name));
  const byCluster = new Map<string, KubeClients>();
  const mapping: Record<string, string> = { [options.defaultCluster]: base.getCurrentContext(), ...options.contexts };
  for (const [cluster, context] of Object.entries(mapping)) {
    if (!known.has(context)) {
      throw new Error(
        `cluster '${cluster}' maps to kubeconfig context '${context}', which the kubeconfig does not have (it has: ${[...known].join(', ') || 'none'})`,
      );
    }
    byCluster.set(cluster, clientsFor(base, cluster, context, options));
  }
  return {
    clients(cluster) {
      const clients = byCluster.get(cluster);
      if (!clients) {
        throw ApplicationFailure.nonRetryable(
          `unknown cluster '${cluster}': this worker serves ${[...byCluster.keys()].join(', ')}; map the cluster to a kubeconfig context (KUBE_CONTEXTS=${cluster}=<context>) or fix the alert's cluster label`,
          FailureTypes.BadRequest,
        );
      }
      return clients;
    },
  };
}
