// Everything that talks to incidents from outside Temporal's workers: the
// receiver delivers alerts, the CLI and `npm start` list, show, decide, signal.
// Incidents are found by full workflow ID or by their short number (the
// IncidentNumber search attribute).
import { Client, Connection, WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import type { ServiceRef } from '../workflows/domain.js';
import type { IncidentInput } from '../workflows/input.js';
import {
  acknowledgeSignal,
  addNoteSignal,
  alertFiredSignal,
  alertResolvedSignal,
  completeTaskSignal,
  decideUpdate,
  escalateSignal,
  incidentStartOptions,
  incidentWorkflowId,
  resolveSignal,
  statusQuery,
  tasksQuery,
  type AlertFiredSignal,
  type DecisionOutcome,
  type IncidentStatus,
  type PostIncidentStatus,
} from '../workflows/messages.js';
import type { incidentWorkflow } from '../workflows/incident.js';
import type { ClientConfig } from './config.js';
import type { ServiceAlert } from './receiver/alertmanager.js';
import type { AlertOutcome, IncidentGateway } from './receiver/server.js';

/** A short, stable number for people ("INC-482913"): the same incident always gets the same one. */
export function incidentNumberFor(workflowId: string, startsAt: string): number {
  let hash = 0x811c9dc5; // FNV-1a, 32 bit
  for (const ch of `${workflowId}|${startsAt}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 100_000 + (hash % 900_000);
}

/** Alertmanager's `severity` label onto the incident's four levels. */
export function severityOf(label: string): IncidentInput['alert']['severity'] {
  const s = label.toLowerCase();
  if (['warning', 'warn', 'minor'].includes(s)) return 'warning';
  if (['info', 'informational', 'low', 'none'].includes(s)) return 'info';
  if (['error', 'major', 'high'].includes(s)) return 'error';
  return 'critical';
}

export interface IncidentRow {
  workflowId: string;
  runId: string;
  number?: number;
  service: string;
  namespace: string;
  cluster: string;
  phase: string;
  diagnosis: string;
  awaitingApproval: boolean;
  status: string;
  startedAt: string;
}

export class IncidentNotFound extends Error {
  override name = 'IncidentNotFound';
}

export class Incidents implements IncidentGateway {
  constructor(
    readonly client: Client,
    private readonly config: ClientConfig,
  ) {}

  static async connect(config: ClientConfig): Promise<Incidents> {
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, apiKey: config.TEMPORAL_API_KEY, connectTimeout: '5s' });
    return new Incidents(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), config);
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /** The workflow input of a new incident: the alert plus this deployment's policy. */
  incidentInput(service: ServiceRef, alert: AlertFiredSignal): IncidentInput {
    const workflowId = incidentWorkflowId(service);
    const c = this.config;
    return {
      service,
      alert,
      incidentNumber: incidentNumberFor(workflowId, alert.startsAt),
      approval: { approvers: [...c.INCIDENT_APPROVERS], autoApprove: c.INCIDENT_AUTO_APPROVE },
      guardrails: { maxReplicas: c.INCIDENT_MAX_REPLICAS, memoryCeiling: c.INCIDENT_MEMORY_CEILING },
      durations: {
        ...(c.INCIDENT_MONITOR ? { monitor: c.INCIDENT_MONITOR } : {}),
        ...(c.INCIDENT_SAMPLE_INTERVAL ? { sampleInterval: c.INCIDENT_SAMPLE_INTERVAL } : {}),
        ...(c.INCIDENT_APPROVAL_TIMEOUT ? { approvalTimeout: c.INCIDENT_APPROVAL_TIMEOUT } : {}),
      },
    };
  }

  /** Opens the service's incident, or joins the open one (signal-with-start). */
  async open(service: ServiceRef, alert: AlertFiredSignal): Promise<string> {
    const options = incidentStartOptions(this.incidentInput(service, alert));
    const handle = await this.client.workflow.signalWithStart<typeof incidentWorkflow, [AlertFiredSignal]>('incidentWorkflow', {
      ...options,
      taskQueue: this.config.TEMPORAL_TASK_QUEUE,
      signal: alertFiredSignal,
      signalArgs: [alert],
    });
    return handle.workflowId;
  }

  async deliver(alert: ServiceAlert): Promise<AlertOutcome> {
    const workflowId = incidentWorkflowId(alert.service);
    const service = `${alert.service.namespace}/${alert.service.deployment}`;
    if (alert.status === 'firing') {
      await this.open(alert.service, {
        name: alert.name,
        severity: severityOf(alert.severity),
        summary: alert.summary,
        labels: alert.labels,
        startsAt: alert.startsAt,
        fingerprint: alert.fingerprint,
      });
      return { workflowId, service, status: 'firing', result: 'signalled' };
    }
    // A resolved alert never opens an incident; it tells the open one, if any.
    try {
      await this.client.workflow.getHandle(workflowId).signal(alertResolvedSignal, { fingerprint: alert.fingerprint });
      return { workflowId, service, status: 'resolved', result: 'signalled' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { workflowId, service, status: 'resolved', result: 'no-open-incident' };
      throw err;
    }
  }

  async ready(): Promise<boolean> {
    await this.client.workflowService.getSystemInfo({});
    return true;
  }

  /** A full workflow ID, `INC-123456`, or `123456` → the workflow ID (newest run with that number). */
  async resolveId(ref: string): Promise<string> {
    if (ref.startsWith('incident/')) return ref;
    const number = /^(?:INC-)?(\d+)$/i.exec(ref)?.[1];
    if (!number) throw new IncidentNotFound(`'${ref}' is neither a workflow ID (incident/<cluster>/<namespace>/<deployment>) nor an incident number (INC-123456)`);
    for await (const wf of this.client.workflow.list({ query: `IncidentNumber = ${number} AND WorkflowType = 'incidentWorkflow'`, pageSize: 1 })) {
      return wf.workflowId;
    }
    throw new IncidentNotFound(`no incident INC-${number}: 'incident list' shows the known ones`);
  }

  async list(options: { open?: boolean; limit?: number } = {}): Promise<IncidentRow[]> {
    const query = `WorkflowType = 'incidentWorkflow'${options.open ? " AND ExecutionStatus = 'Running'" : ''}`;
    const rows: IncidentRow[] = [];
    for await (const wf of this.client.workflow.list({ query })) {
      rows.push(rowOf(wf));
      if (rows.length >= (options.limit ?? 50)) break;
    }
    return rows;
  }

  async status(ref: string): Promise<IncidentStatus> {
    const workflowId = await this.resolveId(ref);
    return this.client.workflow.getHandle(workflowId).query(statusQuery);
  }

  async decide(ref: string, decision: 'approve' | 'reject', by: string, options: { action?: number; comment?: string } = {}): Promise<DecisionOutcome> {
    const workflowId = await this.resolveId(ref);
    return this.client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, { args: [{ decision, by, ...options }] });
  }

  async acknowledge(ref: string, by: string): Promise<void> {
    await this.client.workflow.getHandle(await this.resolveId(ref)).signal(acknowledgeSignal, { by });
  }

  async note(ref: string, by: string, text: string): Promise<void> {
    await this.client.workflow.getHandle(await this.resolveId(ref)).signal(addNoteSignal, { by, text });
  }

  async escalate(ref: string, by: string, reason: string, level?: number): Promise<void> {
    await this.client.workflow.getHandle(await this.resolveId(ref)).signal(escalateSignal, { by, reason, ...(level ? { level } : {}) });
  }

  async resolve(ref: string, by: string, reason?: string): Promise<void> {
    await this.client.workflow.getHandle(await this.resolveId(ref)).signal(resolveSignal, { by, ...(reason ? { reason } : {}) });
  }

  /** Open post-incident task lists (all incidents), or the one of an incident. */
  async tasks(ref?: string): Promise<{ workflowId: string; status: PostIncidentStatus }[]> {
    const prefix = ref ? `${await this.resolveId(ref)}/post-incident/` : undefined;
    const found: { workflowId: string; status: PostIncidentStatus }[] = [];
    for await (const wf of this.client.workflow.list({ query: "WorkflowType = 'postIncidentWorkflow' AND ExecutionStatus = 'Running'" })) {
      if (prefix && !wf.workflowId.startsWith(prefix)) continue;
      found.push({ workflowId: wf.workflowId, status: await this.client.workflow.getHandle(wf.workflowId).query(tasksQuery) });
    }
    return found;
  }

  async completeTask(postIncidentWorkflowId: string, taskId: string, by: string, note?: string): Promise<void> {
    await this.client.workflow.getHandle(postIncidentWorkflowId).signal(completeTaskSignal, { taskId, by, ...(note ? { note } : {}) });
  }
}

function rowOf(wf: WorkflowExecutionInfo): IncidentRow {
  const sa = wf.typedSearchAttributes;
  const get = <T>(name: string): T | undefined => sa.getAll().find((pair) => pair.key.name === name)?.value as T | undefined;
  return {
    workflowId: wf.workflowId,
    runId: wf.runId,
    number: get<number>('IncidentNumber'),
    service: get<string>('IncidentService') ?? '',
    namespace: get<string>('IncidentNamespace') ?? '',
    cluster: get<string>('IncidentCluster') ?? '',
    phase: get<string>('IncidentPhase') ?? '',
    diagnosis: get<string>('IncidentDiagnosis') ?? '',
    awaitingApproval: get<boolean>('AwaitingApproval') ?? false,
    status: wf.status.name,
    startedAt: wf.startTime.toISOString(),
  };
}
