// The incident's activities over injected deps. The worker registers
// createActivities(createDefaultDeps(config)); tests pass deps over the sandbox.
import { inspectConfiguration } from './configuration.js';
import { checkDependencies } from './dependencies.js';
import type { ActivityDeps } from './deps.js';
import { recentEvents } from './events.js';
import { checkServiceHealth } from './health.js';
import { collectLogs } from './logs.js';
import type { TrafficCounters } from './metrics.js';
import { applyMutation, previewMutation } from './mutations.js';
import { notify, writeReport } from './notify/index.js';
import { inspectResources } from './resources.js';
import { waitForRollout } from './rollout.js';
import type { IncidentActivities } from './types.js';
import { sampleHealth, verifyRecovery } from './verify.js';
import { inspectWorkload } from './workload.js';

export { ActivitiesConfigSchema, createDefaultDeps, type ActivitiesConfig, type ActivityDeps } from './deps.js';
export { activityRetryPolicy, FailureTypes, nonRetryableFailureTypes, type IncidentActivities } from './types.js';

export function createActivities(deps: ActivityDeps) {
  // The monitor's previous traffic counters, per service and pod, for "since the previous sample" figures.
  const lastCounters = new Map<string, Map<string, TrafficCounters>>();
  return {
    inspectWorkload: (service) => inspectWorkload(deps, service),
    collectLogs: (service, options) => collectLogs(deps, service, options),
    inspectResources: (service) => inspectResources(deps, service),
    inspectConfiguration: (service) => inspectConfiguration(deps, service),
    checkDependencies: (service) => checkDependencies(deps, service),
    checkServiceHealth: (service) => checkServiceHealth(deps, service),
    recentEvents: (service) => recentEvents(deps, service),
    previewMutation: (request) => previewMutation(deps, request),
    applyMutation: (request) => applyMutation(deps, request),
    waitForRollout: (service, options) => waitForRollout(deps, service, options),
    verifyRecovery: (service, options) => verifyRecovery(deps, service, options),
    sampleHealth: (service) => sampleHealth(deps, lastCounters, service),
    notify: (notification) => notify(deps, notification),
    writeReport: (report) => writeReport(deps, report),
  } satisfies IncidentActivities;
}

export type Activities = ReturnType<typeof createActivities>;
