// Everything that talks to incidents from outside Temporal's workers: the
// receiver delivers alerts, the CLI and `npm start` list, show, decide, signal.
// Incidents are found by full workflow ID or by their short number (the
// IncidentNumber search attribute).
import { Client, Connection, WorkflowNotFoundError, defaultPayloadConverter, isGrpcServiceError, type WorkflowExecutionInfo } from '@temporalio/client';
import type { ServiceRef } from '../workflows/domain.js';
import { describeIssues, type IncidentInput } from '../workflows/input.js';
import {
  AlertBatchSignalSchema,
  IncidentInputSchema,
  acknowledgeSignal,
  addNoteSignal,
  alertsSignal,
  completeTaskSignal,
  decideUpdate,
  escalateSignal,
  HotfixRequestSchema,
  hotfixUpdate,
  reproposeUpdate,
  incidentStartOptions,
  incidentWorkflowId,
  resolveSignal,
  statusQuery,
  majorIncidentIdFrom,
  majorStatusQuery,
  type MajorStatus,
  tasksQuery,
  type AlertBatchSignal,
  type AlertFiredSignal,
  type DecisionOutcome,
  type HotfixOutcome,
  type ReproposeOutcome,
  type HotfixRequest,
  type IncidentStatus,
  type PostIncidentStatus,
} from '../workflows/messages.js';
import type { incidentWorkflow } from '../workflows/incident.js';
import { incidentPhases } from '../workflows/records.js';
import { ClientConfigError, historyKeyRing, servedClusters, type ClientConfig } from './config.js';
import { HistoryEncryptionCodec, historyDataConverter, maxSealingOverheadBytes } from '../codec/encryption-codec.js';
import type { Problem, ServiceDelivery } from './receiver/alertmanager.js';
import { TemporalRefusedError, TemporalUnavailableError, type IncidentGateway, type OpenIncidents, type ServiceOutcome } from './receiver/gateway.js';

export { severityOf } from './receiver/alertmanager.js';

/** A request the client refuses before sending it (it says what is wrong). */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest';
}

/** A hotfix request as the workflow will check it (image grammar, container name): InvalidRequest says what is wrong. */
export function hotfixRequest(by: string, image: string, options: { container?: string; comment?: string } = {}): HotfixRequest {
  const parsed = HotfixRequestSchema.safeParse({ by, image, ...options });
  if (!parsed.success) throw new InvalidRequest(`bad hotfix: ${describeIssues(parsed.error, '(request)')}`);
  return parsed.data;
}

/**
 * A short number for people ("INC-482913"), fixed when the incident opens: it is part of
 * the workflow input, so every run of the incident (continue-as-new) keeps it. It hashes
 * the service's workflow ID, the alert's startsAt and the time the incident is opened,
 * because Alertmanager re-sends a firing that has not resolved (same startsAt) every
 * repeat_interval, and after a hand resolution that opens a new incident, which must not
 * get the number of the one before. Six digits can still collide (1 in 900,000 for two
 * incidents): resolveId refuses a number that names more than one service.
 */
export function incidentNumberFor(workflowId: string, startsAt: string, openedAt: number = Date.now()): number {
  let hash = 0x811c9dc5; // FNV-1a, 32 bit
  for (const ch of `${workflowId}|${startsAt}|${openedAt}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 100_000 + (hash % 900_000);
}

/**
 * Temporal's limits on what one start or signal carries that the workflow's schemas
 * do not already keep (server dynamic-config defaults). A payload over
 * limit.blobSize.error (2 MB) is refused and one over limit.blobSize.warn (512 KB)
 * logged; every delivery adds its signal to the incident's history, so the receiver
 * stays under the warning. Newer servers refuse a static summary over
 * limit.userMetadataSummarySize (400 B) and details over limit.userMetadataDetailsSize
 * (20 KB). Search-attribute values (2 KB each) and the workflow ID (1,000 characters)
 * are kept short by the service's own schema.
 */
export const temporalLimits = { payloadBytes: 512 * 1024, summaryBytes: 400, detailsBytes: 20_000 } as const;

/** The size Temporal counts for a value: its payload's data and metadata, sealed if histories are encrypted. */
function payloadBytes(value: unknown, sealed: boolean): number {
  const payload = defaultPayloadConverter.toPayload(value);
  const metadata = Object.entries(payload.metadata ?? {}).reduce((n, [k, v]) => n + k.length + (v?.length ?? 0), 0);
  return (payload.data?.length ?? 0) + metadata + (sealed ? maxSealingOverheadBytes : 0);
}

// gRPC status codes (@grpc/grpc-js is not a direct dependency).
const grpcStatus = { CANCELLED: 1, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, ABORTED: 10, UNAVAILABLE: 14 } as const;
/** Temporal is down, unreachable, overloaded, or too slow for the deadline: a retry later can succeed. */
const transientCodes = new Set<number>([
  grpcStatus.CANCELLED,
  grpcStatus.DEADLINE_EXCEEDED,
  grpcStatus.RESOURCE_EXHAUSTED,
  grpcStatus.ABORTED,
  grpcStatus.UNAVAILABLE,
]);

/** The gRPC status of a failed call, looking through the client's wrapping errors. */
function grpcCodeOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

/** Temporal's answer as the receiver's error types; anything else is a fault and stays as it is. */
function classify(err: unknown, what: string): unknown {
  const code = grpcCodeOf(err);
  const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  if (code !== undefined && transientCodes.has(code)) return new TemporalUnavailableError(message);
  if (code === grpcStatus.INVALID_ARGUMENT) return new TemporalRefusedError(`Temporal refused ${what}: ${message}`);
  return err;
}

/** The workflow input of a new incident: the alert plus the policy of this deployment's configuration. */
export function incidentInputFor(config: ClientConfig, service: ServiceRef, alert: AlertFiredSignal): IncidentInput {
  const workflowId = incidentWorkflowId(service);
  return {
    service,
    alert,
    incidentNumber: incidentNumberFor(workflowId, alert.startsAt),
    guardrails: { maxReplicas: config.INCIDENT_MAX_REPLICAS, memoryCeiling: config.INCIDENT_MEMORY_CEILING },
    durations: {
      ...(config.INCIDENT_MONITOR ? { monitor: config.INCIDENT_MONITOR } : {}),
      ...(config.INCIDENT_PAGE_HOLD ? { pageHold: config.INCIDENT_PAGE_HOLD } : {}),
      ...(config.INCIDENT_SAMPLE_INTERVAL ? { sampleInterval: config.INCIDENT_SAMPLE_INTERVAL } : {}),
      ...(config.INCIDENT_APPROVAL_TIMEOUT ? { approvalTimeout: config.INCIDENT_APPROVAL_TIMEOUT } : {}),
    },
    customers: {
      ...(config.INCIDENT_SLA_BUDGET ? { slaBudget: config.INCIDENT_SLA_BUDGET } : {}),
      ...(config.INCIDENT_SLA_WARNING ? { slaWarning: config.INCIDENT_SLA_WARNING } : {}),
    },
  };
}

/**
 * The policy part of every incident's input (durations, guardrails) is valid:
 * the receiver checks it at start-up, so a bad INCIDENT_* value stops it with one line
 * instead of failing every alert.
 */
export function checkIncidentPolicy(config: ClientConfig): void {
  const service = { cluster: config.DEFAULT_CLUSTER, namespace: 'default', deployment: 'policy-check' };
  const alert = { name: 'ServiceDown', severity: 'critical', summary: '', labels: {}, startsAt: '2026-01-01T00:00:00Z', fingerprint: 'policy-check' } as const;
  const parsed = IncidentInputSchema.safeParse(incidentInputFor(config, service, alert));
  if (!parsed.success)
    throw new ClientConfigError(`invalid incident policy (INCIDENT_* variables): ${describeIssues(parsed.error)} (see README, "Configuration")`);
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
  /** 'major': a storm's parent (workflows/major-incident.ts); its children follow it in the list. */
  kind?: 'incident' | 'major';
  /** A child: its major incident's workflow ID. A parent: its own. */
  major?: string;
  /** A parent: its children's workflow IDs (its memo). */
  children?: string[];
}

export class IncidentNotFound extends Error {
  override name = 'IncidentNotFound';
}

export interface IncidentsOptions {
  /**
   * Deadline of each call the receiver makes (deliver, ready). Without one, the SDK
   * retries an unreachable Temporal for about 20 s before failing; Alertmanager and
   * readiness probes need the 503 sooner.
   */
  callTimeoutMs?: number;
}

export class Incidents implements IncidentGateway {
  private readonly callTimeoutMs: number;
  /** Histories are encrypted: payloads grow by the sealing before Temporal counts them. */
  private readonly sealed: boolean;
  /** Calls still running after their answer was given up on (see withDeadline); close() lets them end. */
  private readonly outliving = new Set<Promise<unknown>>();

  constructor(
    readonly client: Client,
    private readonly config: ClientConfig,
    options: IncidentsOptions = {},
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? 3_000;
    this.sealed = client.options.loadedDataConverter.payloadCodecs.some((codec) => codec instanceof HistoryEncryptionCodec && codec.encrypts);
  }

  static async connect(config: ClientConfig, options: IncidentsOptions = {}): Promise<Incidents> {
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, apiKey: config.TEMPORAL_API_KEY, connectTimeout: '5s' });
    const dataConverter = historyDataConverter(historyKeyRing(config));
    return new Incidents(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter }), config, options);
  }

  async close(): Promise<void> {
    // Each ends by its own deadline; closing under one would make the SDK's pending retry throw.
    await Promise.allSettled([...this.outliving]);
    await this.client.connection.close();
  }

  /** The workflow input of a new incident: the alert plus this deployment's policy. */
  incidentInput(service: ServiceRef, alert: AlertFiredSignal): IncidentInput {
    return incidentInputFor(this.config, service, alert);
  }

  /** Opens the service's incident, or joins the open one (signal-with-start): the CLI's `trigger`. */
  async open(service: ServiceRef, alert: AlertFiredSignal): Promise<string> {
    const served = servedClusters(this.config);
    if (!served.includes(service.cluster))
      throw new ClientConfigError(`cluster '${service.cluster}' is not served here (served: ${served.join(', ')}); add it to INCIDENT_CLUSTERS`);
    await this.signalWithStart(service, { firing: [alert], resolved: [], received: 1 });
    return incidentWorkflowId(service);
  }

  private async signalWithStart(service: ServiceRef, batch: AlertBatchSignal & { firing: [AlertFiredSignal, ...AlertFiredSignal[]] }): Promise<void> {
    const options = incidentStartOptions(this.incidentInput(service, batch.firing[0]));
    await this.client.workflow.signalWithStart<typeof incidentWorkflow, [AlertBatchSignal]>('incidentWorkflow', {
      ...options,
      taskQueue: this.config.TEMPORAL_TASK_QUEUE,
      signal: alertsSignal,
      signalArgs: [batch],
    });
  }

  private batchOf(delivery: ServiceDelivery): AlertBatchSignal {
    return { firing: delivery.firing, resolved: delivery.resolved, received: delivery.received.firing + delivery.received.resolved };
  }

  /** Everything `deliver` would send for this service, checked against the workflow's schemas and Temporal's limits. */
  check(delivery: ServiceDelivery): Problem[] {
    const at = `alerts[${delivery.alerts[0] ?? 0}]`;
    const whose = `the alerts of ${delivery.workflowId}`;
    const problems: Problem[] = [];
    const tooBig = (path: string, what: string, bytes: number, limit: number) =>
      problems.push({
        path,
        message: `${whose} make ${what} of ${bytes} bytes, over Temporal's limit of ${limit}: shorten or drop labels and annotations in the alert rule`,
      });

    const batch = this.batchOf(delivery);
    const parsedBatch = AlertBatchSignalSchema.safeParse(batch);
    if (!parsedBatch.success) problems.push({ path: at, message: `${whose} do not make a valid alerts signal: ${describeIssues(parsedBatch.error)}` });
    const signalBytes = payloadBytes(batch, this.sealed);
    if (signalBytes > temporalLimits.payloadBytes) tooBig(`${at}.labels`, 'an alerts signal', signalBytes, temporalLimits.payloadBytes);

    const [first] = delivery.firing;
    if (!first) return problems;
    const input = this.incidentInput(delivery.service, first);
    const parsed = IncidentInputSchema.safeParse(input);
    if (!parsed.success) {
      // The alert and the service were checked with these same schemas; what is left is this deployment's policy.
      throw new ClientConfigError(`invalid incident policy (INCIDENT_* variables): ${describeIssues(parsed.error)}`);
    }
    const start = incidentStartOptions(input);
    const inputBytes = payloadBytes(start.args[0], this.sealed);
    if (inputBytes > temporalLimits.payloadBytes) tooBig(`${at}.labels`, 'an incident input', inputBytes, temporalLimits.payloadBytes);
    const summaryBytes = payloadBytes(start.staticSummary, this.sealed);
    if (summaryBytes > temporalLimits.summaryBytes) tooBig(`${at}.labels.alertname`, "a summary in Temporal's UI", summaryBytes, temporalLimits.summaryBytes);
    const detailsBytes = payloadBytes(start.staticDetails, this.sealed);
    if (detailsBytes > temporalLimits.detailsBytes) tooBig(`${at}.labels`, "details in Temporal's UI", detailsBytes, temporalLimits.detailsBytes);
    return problems;
  }

  /** One service's alerts of a delivery as one `alerts` signal, within the call deadline. */
  async deliver(delivery: ServiceDelivery): Promise<ServiceOutcome> {
    const { workflowId, service } = delivery;
    const batch = this.batchOf(delivery);
    const outcome = {
      workflowId,
      service: `${service.namespace}/${service.deployment}`,
      cluster: service.cluster,
      status: delivery.firing.length > 0 ? ('firing' as const) : ('resolved' as const),
      alerts: batch.received,
      firing: delivery.firing.length,
      resolved: delivery.resolved.length,
    };
    const [first, ...rest] = delivery.firing;
    try {
      if (first) {
        await this.withDeadline(() => this.signalWithStart(service, { ...batch, firing: [first, ...rest] }));
        return { ...outcome, result: 'signalled' };
      }
      // Only resolved alerts never open an incident; they tell the open one, if any.
      await this.withDeadline(() => this.client.workflow.getHandle(workflowId).signal(alertsSignal, batch));
      return { ...outcome, result: 'signalled' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { ...outcome, result: 'no-open-incident' };
      throw classify(err, `the alerts of ${workflowId}`);
    }
  }

  /** Counts of running incidents per IncidentPhase and with AwaitingApproval, one visibility count each. */
  async openIncidents(): Promise<OpenIncidents> {
    const running = 'WorkflowType = "incidentWorkflow" AND ExecutionStatus = "Running"';
    const count = async (query: string) => (await this.withDeadline(() => this.client.workflow.count(`${running} AND ${query}`))).count;
    const phases = incidentPhases.filter((p) => p !== 'resolved');
    const [awaitingApproval, ...perPhase] = await Promise.all([count('AwaitingApproval = true'), ...phases.map((p) => count(`IncidentPhase = "${p}"`))]);
    return { byPhase: Object.fromEntries(phases.map((p, i) => [p, perPhase[i] ?? 0])), awaitingApproval: awaitingApproval ?? 0 };
  }

  async ready(): Promise<boolean> {
    await this.withDeadline(() => this.client.workflowService.getSystemInfo({}));
    return true;
  }

  /**
   * `call` with the gRPC deadline set, and bounded by it: the SDK's retry of an
   * unreachable Temporal sleeps between attempts and would notice the deadline only
   * when it wakes (up to a few seconds late).
   */
  private async withDeadline<T>(call: () => Promise<T>): Promise<T> {
    const ms = this.callTimeoutMs;
    const pending = this.client.withDeadline(Date.now() + ms, call);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TemporalUnavailableError(`no answer within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([pending, late]);
    } finally {
      clearTimeout(timer);
      // A call that outlives the race ends at its own deadline; its failure is already answered.
      const settled = pending.then(
        () => undefined,
        () => undefined,
      );
      this.outliving.add(settled);
      void settled.then(() => this.outliving.delete(settled));
    }
  }

  /**
   * A full workflow ID, `INC-123456`, or `123456` → the workflow ID. What is done with it
   * reaches the service's newest run, so a number is taken only while its incident is that
   * run: the number of an incident that a newer one of the same service followed is
   * refused, and so is a number that incidents of two services share.
   */
  async resolveId(ref: string): Promise<string> {
    if (ref.startsWith('incident/')) return ref;
    const number = /^(?:INC-)?(\d+)$/i.exec(ref)?.[1];
    if (!number)
      throw new IncidentNotFound(`'${ref}' is neither a workflow ID (incident/<cluster>/<namespace>/<deployment>) nor an incident number (INC-123456)`);
    const workflowIds = new Set<string>();
    let runs = 0;
    // Every run of the incident carries its number (continue-as-new keeps it): a few runs, one workflow ID.
    for await (const wf of this.client.workflow.list({ query: `IncidentNumber = ${number} AND WorkflowType = 'incidentWorkflow'`, pageSize: 50 })) {
      workflowIds.add(wf.workflowId);
      if (++runs >= 50) break;
    }
    const [workflowId, ...others] = workflowIds;
    if (workflowId === undefined) throw new IncidentNotFound(`no incident INC-${number}: 'incident list' shows the known ones`);
    if (others.length > 0)
      throw new IncidentNotFound(`INC-${number} names incidents of ${workflowIds.size} services (${[...workflowIds].join(', ')}): use the workflow ID`);
    const newest = await this.client.workflow.getHandle(workflowId).describe();
    const current = newest.typedSearchAttributes.getAll().find((pair) => pair.key.name === 'IncidentNumber')?.value;
    if (Number(current) !== Number(number)) {
      const now = current === undefined ? 'another one' : `INC-${String(current)}`;
      throw new IncidentNotFound(
        `INC-${number} (${workflowId}) is closed, and the service's incident now is ${now}: use that number, or the Temporal UI for the closed one`,
      );
    }
    return workflowId;
  }

  /** Incidents and major incidents, newest first; each major incident is followed by its children. */
  async list(options: { open?: boolean; limit?: number } = {}): Promise<IncidentRow[]> {
    const query = `WorkflowType IN ('incidentWorkflow', 'majorIncidentWorkflow')${options.open ? " AND ExecutionStatus = 'Running'" : ''}`;
    const rows: IncidentRow[] = [];
    for await (const wf of this.client.workflow.list({ query })) {
      rows.push(rowOf(wf));
      if (rows.length >= (options.limit ?? 50)) break;
    }
    return groupByMajor(rows);
  }

  /** `incident show MAJOR-…`: the major incident's status (its children and their phases). */
  async majorStatus(ref: string): Promise<MajorStatus> {
    const workflowId = majorIncidentIdFrom(ref);
    if (!workflowId) throw new IncidentNotFound(`'${ref}' is not a major incident (MAJOR-<cluster>-<hash>)`);
    return this.client.workflow.getHandle(workflowId).query(majorStatusQuery);
  }

  async status(ref: string): Promise<IncidentStatus> {
    const workflowId = await this.resolveId(ref);
    return this.client.workflow.getHandle(workflowId).query(statusQuery);
  }

  async decide(
    ref: string,
    decision: 'approve' | 'reject',
    by: string,
    options: { action?: number | undefined; comment?: string | undefined; signature?: unknown } = {},
  ): Promise<DecisionOutcome> {
    const workflowId = await this.resolveId(ref);
    return this.client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, { args: [{ decision, by, ...options }] });
  }

  /**
   * A hotfix image for the incident (the runbook's `kubectl set image`): checked here
   * first (InvalidRequest, nothing sent), then by the workflow, which dry-runs it and
   * asks for approval.
   */
  async proposeHotfix(ref: string, by: string, image: string, options: { container?: string; comment?: string } = {}): Promise<HotfixOutcome> {
    const request = hotfixRequest(by, image, options);
    const workflowId = await this.resolveId(ref);
    return this.client.workflow.getHandle(workflowId).executeUpdate(hotfixUpdate, { args: [request] });
  }

  /** An action whose approval expired, proposed again (a person at L2 or above): the incident looks again, dry-runs it and asks. */
  async repropose(ref: string, by: string, action: number, comment?: string): Promise<ReproposeOutcome> {
    const workflowId = await this.resolveId(ref);
    return this.client.workflow.getHandle(workflowId).executeUpdate(reproposeUpdate, { args: [{ by, action, ...(comment ? { comment } : {}) }] });
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

/** Each major incident, then its children (indented by the table); the rest as they came. */
export function groupByMajor(rows: IncidentRow[]): IncidentRow[] {
  const parents = new Set(rows.filter((r) => r.kind === 'major').map((r) => r.workflowId));
  const out: IncidentRow[] = [];
  for (const row of rows) {
    if (row.kind === 'major') out.push(row, ...rows.filter((c) => c.kind !== 'major' && c.major === row.workflowId));
    else if (!row.major || !parents.has(row.major)) out.push(row);
  }
  return out;
}

function rowOf(wf: WorkflowExecutionInfo): IncidentRow {
  const sa = wf.typedSearchAttributes;
  const get = <T>(name: string): T | undefined => sa.getAll().find((pair) => pair.key.name === name)?.value as T | undefined;
  const major = get<string>('MajorIncident');
  if (wf.type === 'majorIncidentWorkflow') {
    const children = (wf.memo as { children?: unknown } | undefined)?.children;
    return {
      workflowId: wf.workflowId,
      runId: wf.runId,
      service: '',
      namespace: '',
      cluster: get<string>('IncidentCluster') ?? '',
      phase: get<string>('IncidentPhase') ?? '',
      diagnosis: '',
      awaitingApproval: false,
      status: wf.status.name,
      startedAt: wf.startTime.toISOString(),
      kind: 'major',
      major: wf.workflowId,
      children: Array.isArray(children) ? children.map(String) : [],
    };
  }
  return {
    ...(major ? { major } : {}),
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
