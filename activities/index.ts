// The incident's activities over injected deps. The worker registers
// createActivities(createDefaultDeps(config)); tests pass deps over the sandbox.
import { metricsBaseline } from './baseline.js';
import { inspectConfiguration } from './configuration.js';
import { governorActivities } from './governor.js';
import { GovernorPolicySchema } from '../workflows/model/governor.js';
import { checkCustomerImpact } from './customer-impact.js';
import { checkDependencies } from './service-dependencies.js';
import type { ActivityDeps } from './injected-deps.js';
import { recentEvents } from './events.js';
import { heartbeating } from './heartbeat.js';
import { checkServiceHealth } from './health.js';
import { collectLogs } from './logs.js';
import { applyMutation, previewMutation } from './mutations.js';
import { notify, writeReport } from './notify/index.js';
import { inspectResources } from './resources.js';
import { endedIncidents, joinMajorIncident } from './major-incident.js';
import { waitForRollout } from './rollout.js';
import type { IncidentActivities } from './types.js';
import { approvalPolicyFor } from './approval-policy.js';
import { sampleHealth, verifyRecovery } from './verify.js';
import { inspectWorkload } from './workload.js';

export { ActivitiesConfigSchema, createDefaultDeps, type ActivitiesConfig, type ActivityDeps } from './injected-deps.js';
export { FailureTypes, nonRetryableFailureTypes, retryableFailureTypes, type IncidentActivities } from './types.js';

export function createActivities(deps: ActivityDeps) {
  const governor = governorActivities(deps.governor ?? GovernorPolicySchema.parse({}));
  // Every activity heartbeats while it runs: a dead worker is noticed after the short heartbeatTimeout.
  return {
    inspectWorkload: (service) => heartbeating(() => inspectWorkload(deps, service)),
    collectLogs: (service, options) => heartbeating(() => collectLogs(deps, service, options)),
    inspectResources: (service) => heartbeating(() => inspectResources(deps, service)),
    inspectConfiguration: (service) => heartbeating(() => inspectConfiguration(deps, service)),
    checkDependencies: (service) => heartbeating(() => checkDependencies(deps, service)),
    checkServiceHealth: (service) => heartbeating(() => checkServiceHealth(deps, service)),
    recentEvents: (service) => heartbeating(() => recentEvents(deps, service)),
    previewMutation: (request) => heartbeating(() => previewMutation(deps, request)),
    applyMutation: (request) => heartbeating(() => applyMutation(deps, request)),
    waitForRollout: (service, options) => heartbeating((progress) => waitForRollout(deps, service, options, progress)),
    verifyRecovery: (service, options) => heartbeating(() => verifyRecovery(deps, service, options)),
    sampleHealth: (service, options = {}) => heartbeating(() => sampleHealth(deps, service, options.previous)),
    checkCustomerImpact: (service) => heartbeating(() => checkCustomerImpact(deps, service)),
    metricsBaseline: (service, options) => heartbeating(() => metricsBaseline(deps, service, options)),
    requestChangeLease: (request) => heartbeating(() => governor.requestChangeLease(request)),
    releaseChangeLease: (release) => heartbeating(() => governor.releaseChangeLease(release)),
    notify: (notification) => heartbeating(() => notify(deps, notification)),
    writeReport: (report) => heartbeating(() => writeReport(deps, report)),
    joinMajorIncident: (request) => joinMajorIncident(request),
    endedIncidents: (ids) => endedIncidents(ids),
    approvalPolicy: async (service) => approvalPolicyFor(deps.approval, service.namespace),
  } satisfies IncidentActivities;
}

export type Activities = ReturnType<typeof createActivities>;
