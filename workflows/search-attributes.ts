// Search attributes that make incidents filterable in the Temporal UI and CLI
// (e.g. `IncidentPhase = "awaiting-approval"`). The dev server registers them at
// start (local-stack/dev-server.ts); a production namespace needs
// `temporal operator search-attribute create` once (see README).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const IncidentService = defineSearchAttributeKey('IncidentService', SearchAttributeType.KEYWORD);
export const IncidentNamespace = defineSearchAttributeKey('IncidentNamespace', SearchAttributeType.KEYWORD);
export const IncidentCluster = defineSearchAttributeKey('IncidentCluster', SearchAttributeType.KEYWORD);
export const IncidentPhase = defineSearchAttributeKey('IncidentPhase', SearchAttributeType.KEYWORD);
export const IncidentSeverity = defineSearchAttributeKey('IncidentSeverity', SearchAttributeType.KEYWORD);
export const IncidentDiagnosis = defineSearchAttributeKey('IncidentDiagnosis', SearchAttributeType.KEYWORD);
export const IncidentNumber = defineSearchAttributeKey('IncidentNumber', SearchAttributeType.INT);
export const AwaitingApproval = defineSearchAttributeKey('AwaitingApproval', SearchAttributeType.BOOL);
/** The major incident (workflow ID) a storm's incidents are folded into; the parent carries its own ID. */
export const MajorIncident = defineSearchAttributeKey('MajorIncident', SearchAttributeType.KEYWORD);

export const incidentSearchAttributes = [
  IncidentService,
  IncidentNamespace,
  IncidentCluster,
  IncidentPhase,
  IncidentSeverity,
  IncidentDiagnosis,
  IncidentNumber,
  AwaitingApproval,
  MajorIncident,
] as const;

/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export function searchAttributeCliArgs(): string[] {
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', BOOL: 'Bool' };
  return incidentSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=${cliType[key.type] ?? 'Keyword'}`]);
}

/** temporal.api.enums.v1.IndexedValueType numbers, for the operator service's addSearchAttributes (@temporalio/proto is not a direct dependency). */
const indexedValueType = { KEYWORD: 2, INT: 3, BOOL: 5 } as const;

/** `{ Name: IndexedValueType }` of every incident search attribute, as the operator service's addSearchAttributes takes them. */
export function searchAttributeIndexedTypes(): Record<string, number> {
  return Object.fromEntries(incidentSearchAttributes.map((key) => [key.name, indexedValueType[key.type]]));
}
