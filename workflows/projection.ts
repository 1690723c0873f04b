// What the Temporal UI shows of an incident, kept current after every change of
// the model: its search attributes (only the ones that changed are upserted) and
// the markdown "current details". Called through the model's `changed` hook.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { IncidentModel } from './model/incident.js';
import { currentDetails } from './render.js';
import {
  AwaitingApproval,
  IncidentCluster,
  IncidentDiagnosis,
  IncidentNamespace,
  IncidentNumber,
  IncidentPhase,
  IncidentService,
  IncidentSeverity,
  MajorIncident,
} from './search-attributes.js';

export function project(model: IncidentModel): void {
  const c = model.config;
  const status = model.status();
  // Set by incidentStartOptions at start; upserted here too for incidents started some other way.
  const wanted: SearchAttributeUpdatePair[] = [
    { key: IncidentService, value: c.service.deployment },
    { key: IncidentNamespace, value: c.service.namespace },
    { key: IncidentCluster, value: c.service.cluster },
    ...(c.incidentNumber === undefined ? [] : [{ key: IncidentNumber, value: c.incidentNumber }]),
    { key: IncidentPhase, value: status.phase },
    { key: AwaitingApproval, value: status.pendingApproval !== undefined },
    { key: IncidentSeverity, value: status.severity },
    ...(status.diagnosis ? [{ key: IncidentDiagnosis, value: status.diagnosis.category }] : []),
    // A storm's incident: findable from its major incident (`MajorIncident = "major-…"`).
    ...(status.major ? [{ key: MajorIncident, value: status.major.id }] : []),
  ];
  const current = workflowInfo().typedSearchAttributes;
  const updates = wanted.filter((pair) => current.get(pair.key) !== pair.value);
  if (updates.length > 0) upsertSearchAttributes(updates);
  setCurrentDetails(currentDetails(status));
}
