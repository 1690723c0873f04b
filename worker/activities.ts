// Maps the worker's environment config onto the activities' config and builds
// the activity functions once per worker process.
import { createActivities, createDefaultDeps, type Activities, type ActivitiesConfig } from '../activities/index.js';
import { workerApprovalPolicy, type WorkerConfig } from './config.js';

/** `name=url,name2=url2` → [{ name, url }]. */
function dependencyList(spec: string): { name: string; url: string }[] {
  return spec
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      return at > 0 ? { name: pair.slice(0, at), url: pair.slice(at + 1) } : { name: new URL(pair).hostname, url: pair };
    });
}

export function activitiesConfig(config: WorkerConfig): ActivitiesConfig {
  return {
    kube: {
      kubeconfigPath: config.KUBECONFIG || undefined,
      inCluster: !config.KUBECONFIG && Boolean(process.env.KUBERNETES_SERVICE_HOST),
      contexts: config.KUBE_CONTEXTS,
      defaultCluster: config.DEFAULT_CLUSTER,
    },
    guardrails: {
      allowedNamespaces: config.ALLOWED_NAMESPACES,
      maxReplicas: config.MAX_REPLICAS,
      memoryCeiling: config.MEMORY_CEILING,
    },
    dependencies: dependencyList(config.DEPENDENCY_URLS),
    podDependencies: dependencyList(config.POD_DEPENDENCIES),
    envPattern: config.ENV_PATTERN,
    probes: { via: config.PROBE_VIA },
    customerImpact: {
      probe: config.CUSTOMER_PROBE,
      prometheusUrl: config.PROMETHEUS_URL,
      sloBurnQuery: config.CUSTOMER_SLO_BURN_QUERY,
      sloBurnThreshold: config.CUSTOMER_SLO_BURN_THRESHOLD,
    },
    baseline: { prometheusUrl: config.PROMETHEUS_URL, window: config.BASELINE_WINDOW },
    requiredEnv: [...config.REQUIRED_ENV],
    approval: workerApprovalPolicy(config),
    governor: {
      maxChangesPerCluster: config.GOVERNOR_MAX_CHANGES_PER_CLUSTER,
      maxChangesPerNamespace: config.GOVERNOR_MAX_CHANGES_PER_NAMESPACE,
      window: config.GOVERNOR_WINDOW,
      cooldown: config.GOVERNOR_COOLDOWN,
      leaseTtl: config.GOVERNOR_LEASE_TTL,
      maxWait: config.GOVERNOR_MAX_WAIT,
      freezeWindows: [...config.GOVERNOR_FREEZE_WINDOWS],
    },
    notifications: {
      pagerduty: config.PAGERDUTY_ROUTING_KEY
        ? {
            routingKey: config.PAGERDUTY_ROUTING_KEY,
            ...(config.PAGERDUTY_ROUTING_KEY_L2 ? { routingKeyL2: config.PAGERDUTY_ROUTING_KEY_L2 } : {}),
            ...(config.PAGERDUTY_ROUTING_KEY_L3 ? { routingKeyL3: config.PAGERDUTY_ROUTING_KEY_L3 } : {}),
            eventsUrl: config.PAGERDUTY_EVENTS_URL,
          }
        : undefined,
      chatWebhookUrl: config.SLACK_WEBHOOK_URL,
      statusPageWebhookUrl: config.STATUS_PAGE_WEBHOOK_URL,
      ticketWebhookUrl: config.TICKET_WEBHOOK_URL,
      stakeholdersWebhookUrl: config.STAKEHOLDERS_WEBHOOK_URL,
      outboxDir: config.OUTBOX_DIR,
      reportsDir: config.REPORTS_DIR,
    },
  };
}

export function buildActivities(config: WorkerConfig): Activities {
  return createActivities(createDefaultDeps(activitiesConfig(config)));
}
