// diagnose(findings): the runbook's "Immediate Actions" as a pure function.
// It names the symptom (the runbook's three branches), the cause, the evidence a
// human needs to agree, and the candidate remedies in the order to try them.
// Values that depend on policy or on workflow time (memory ceiling, replica cap,
// restart timestamps) are left to plan().
import type { ContainerSpec, Findings, PodSummary } from './domain.js';
import { formatMemory, parseQuantity } from './units.js';

/** The runbook's branches: "If Pods are CrashLoopBackOff", "If No Pods Running", "If Pods Running but Unhealthy". */
export type Symptom = 'crash-loop' | 'no-pods' | 'unhealthy' | 'healthy' | 'unknown';

export type DiagnosisCategory =
  | 'healthy'
  | 'oom-killed'
  /** Running, never ready: the container's CPU (or memory request) is too low for it to start (the runbook's "Resource Issues"). */
  | 'resource-starved'
  | 'bad-rollout'
  | 'missing-key'
  | 'config-drift'
  | 'dependency-unreachable'
  | 'scaled-to-zero'
  | 'unschedulable'
  | 'selector-mismatch'
  | 'deployment-missing'
  | 'investigation-failed'
  | 'unknown';

export type Remedy =
  /** Double the container's memory limit (plan caps it at the ceiling). */
  | { kind: 'raise-memory'; container: string; currentLimit?: string }
  /** The runbook's "Resource Issues" patch: requests 1Gi/500m, limits 4Gi/2000m (plan raises only what is lower, under the ceiling). */
  | { kind: 'runbook-resources'; container: string; current: { requests: Quantities; limits: Quantities } }
  | { kind: 'rollout-undo'; toRevision: number }
  /** Restart; with humanFix, only after a human did it (never auto-approved). */
  | { kind: 'restart'; humanFix?: string }
  /** Write back the last applied values of the drifted keys (named by digest: findings hold no exact value), then restart. */
  | { kind: 'restore-config-map'; name: string; keys: Record<string, string> }
  | { kind: 'scale'; replicas: number }
  /** service: its name when the findings carry it; plan falls back to the deployment's name (the runbook's convention). */
  | { kind: 'fix-selector'; service?: string; selector: Record<string, string> }
  /** Emergency option 3: LOG_LEVEL=DEBUG in the config map, then restart. */
  | { kind: 'debug-logging'; configMap: string }
  /** Hand over to humans with the evidence: no safe automatic fix. */
  | { kind: 'escalate'; reason: string };

type Quantities = { cpu?: string | undefined; memory?: string | undefined };

export interface DiagnoseOptions {
  /** Incidents started before the resource-starved diagnosis see those pods as an unknown cause (workflows/incident.ts, patched()). */
  resourceStarvation?: boolean;
  /** Incidents started before it matched "401" anywhere in a log line, its timestamp too (workflows/incident.ts, patched()). */
  statusCode401?: boolean;
  /** Incidents started before it took any failed dependency probe over a recent rollout for crashing pods (workflows/incident.ts, patched()). */
  rolloutOverSilentDependency?: boolean;
}

export interface Candidate {
  remedy: Remedy;
  why: string;
  /** A step of the emergency ladder: a guess, so it always waits for a human. */
  ladder?: boolean;
}

/**
 * What many services can fail of at once, named so that incidents of different
 * services can be matched on it: the dependency that is down, the node pool that
 * is full, the release that was rolled out. Set when the findings show it.
 */
export interface CommonCause {
  kind: 'dependency' | 'node-pool' | 'release';
  name: string;
}

export interface Diagnosis {
  category: DiagnosisCategory;
  symptom: Symptom;
  cause: string;
  /** At most 10 lines, each at most 240 characters. */
  evidence: string[];
  candidates: Candidate[];
  commonCause?: CommonCause;
}

/** Node labels that name a node pool (GKE, EKS, AKS, Karpenter, and the plain convention). */
export const nodePoolLabels = ['pool', 'cloud.google.com/gke-nodepool', 'eks.amazonaws.com/nodegroup', 'agentpool', 'karpenter.sh/nodepool', 'node-pool'];

/** A rollout this young is "recent" (runbook: "Review recent changes"). */
export const recentRolloutMs = 24 * 3_600_000;
const crashReasons = new Set(['CrashLoopBackOff', 'Error', 'RunContainerError', 'OOMKilled']);
const imageReasons = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName']);
const configReasons = new Set(['CreateContainerConfigError']);
const invalidKeyWords = /invalid (api )?key|unauthori[sz]ed|authentication failed/i;
// 401 as a status (not a digit run of a number, a time or a version), after the line's leading timestamp.
const status401 = /(?<![\d.:,+-])\b401\b(?![\d.:,]\d)/;
const leadingTimestamp = /^\s*\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?\s*/;

/** Whether a log line says a key was refused: the words, or an HTTP 401 outside the line's timestamp. */
export function saysInvalidKey(line: string, options: DiagnoseOptions = {}): boolean {
  // Before: "401" anywhere in the line.
  const has401 = options.statusCode401 === false ? line.includes('401') : status401.test(line.replace(leadingTimestamp, ''));
  return invalidKeyWords.test(line) || has401;
}
const dependencyPattern = /dependen|upstream|unreachable|connection refused|timed? ?out/i;

export function diagnose(findings: Findings, options: DiagnoseOptions = {}): Diagnosis {
  const w = findings.workload;
  if (!w.exists) {
    return {
      category: 'deployment-missing',
      symptom: 'unknown',
      cause: 'the deployment does not exist',
      evidence: ['deployment not found (kubectl get deployment returned NotFound)'],
      candidates: [escalate('the deployment is gone: nothing to mitigate safely, a human must redeploy it')],
    };
  }
  const failing = w.pods.filter((p) => isCrashing(p) || hasReason(p, imageReasons) || hasReason(p, configReasons));
  if (failing.length > 0) return crashLoop(findings, failing, options);
  if (!w.pods.some((p) => p.phase === 'Running')) return noPodsRunning(findings);
  if (isHealthy(findings)) {
    return {
      category: 'healthy',
      symptom: 'healthy',
      cause: 'the service is up: all replicas ready, health endpoints 200, service has endpoints',
      evidence: [workloadLine(findings), healthLine(findings)],
      candidates: [],
    };
  }
  return runningButUnhealthy(findings, options.resourceStarvation ?? true);
}

/** When an investigation step failed for good: no guess, hand over with the errors. */
export function investigationFailed(errors: string[]): Diagnosis {
  return {
    category: 'investigation-failed',
    symptom: 'unknown',
    cause: 'the investigation could not complete',
    evidence: cap(errors),
    candidates: [escalate('investigation failed: diagnose by hand')],
  };
}

// --- If Pods are CrashLoopBackOff ----------------------------------------------

function crashLoop(f: Findings, failing: PodSummary[], options: DiagnoseOptions): Diagnosis {
  const w = f.workload;
  const evidence = [...failing.slice(0, 3).map(podLine), ...logLines(f)];

  // "Resource limits too low": OOMKilled -> raise the memory limit.
  if (failing.some((p) => p.lastTermination?.reason === 'OOMKilled')) {
    const container = w.containers[0];
    const usage = f.resources.podUsage.map(
      (u) => `${u.pod}: memory ${formatMemory(u.memoryBytes)}${u.memoryLimitBytes ? ` of limit ${formatMemory(u.memoryLimitBytes)}` : ''}`,
    );
    return {
      category: 'oom-killed',
      symptom: 'crash-loop',
      cause: `container ${container?.name ?? '?'} is OOMKilled: its memory limit ${container?.limits.memory ?? '(none)'} is below what it needs`,
      evidence: cap([...evidence.slice(0, 3), ...usage.slice(0, 3)]),
      candidates: [
        ...(container
          ? [
              {
                remedy: { kind: 'raise-memory', container: container.name, currentLimit: container.limits.memory },
                why: 'runbook: "Increase memory limits if OOMKilled"',
              } satisfies Candidate,
            ]
          : []),
        escalate('memory cannot be raised further within the ceiling: needs capacity planning'),
      ],
    };
  }

  // "Missing or invalid API keys": only a human can put a secret value back.
  const secretGaps = f.config.missingEnv.filter((m) => m.source === 'secret');
  const missingSecrets = f.config.secrets.filter((s) => !s.exists);
  const invalidKey = f.logs.lastErrorLines.find((l) => saysInvalidKey(l.line, options));
  if (secretGaps.length > 0 || missingSecrets.length > 0 || invalidKey) {
    const fixes = [
      ...secretGaps.map((m) => `restore key ${m.key} in secret ${m.object} (env ${m.variable})`),
      ...missingSecrets.map((s) => `create secret ${s.name}`),
      ...(invalidKey && secretGaps.length === 0 ? ['replace the invalid API key in its secret'] : []),
    ];
    const humanFix = fixes.join('; ');
    return {
      category: 'missing-key',
      symptom: 'crash-loop',
      cause: `a required secret or key is missing or invalid: ${humanFix}`,
      evidence: cap([
        ...secretGaps.map((m) => `env ${m.variable} needs key ${m.key} of secret ${m.object}: missing`),
        ...missingSecrets.map((s) => `secret ${s.name} not found`),
        ...evidence,
      ]),
      candidates: [
        { remedy: { kind: 'restart', humanFix }, why: `secret values are never written by automation: a human must ${humanFix}, then a restart picks it up` },
        escalate(`human fix required: ${humanFix}`),
      ],
    };
  }

  // "Configuration errors": a config map that differs from its last applied value.
  const drifted = f.config.configMaps.find((cm) => cm.exists && cm.drift.some((d) => d.lastAppliedSha256 !== undefined));
  if (drifted) {
    const restore = Object.fromEntries(drifted.drift.flatMap((d) => (d.lastAppliedSha256 === undefined ? [] : [[d.key, d.lastAppliedSha256] as const])));
    return {
      category: 'config-drift',
      symptom: 'crash-loop',
      cause: `config map ${drifted.name} differs from its last applied value (${Object.keys(restore).join(', ')})`,
      evidence: cap([
        ...drifted.drift.map(
          (d) =>
            `${drifted.name}.${d.key}: ${d.current ?? '(absent)'} (last applied: ${d.lastApplied ?? '(absent)'}${d.lastAppliedSha256 ? `, sha256 ${d.lastAppliedSha256.slice(0, 12)}` : ''})`,
        ),
        ...evidence,
      ]),
      candidates: [
        {
          remedy: { kind: 'restore-config-map', name: drifted.name, keys: restore },
          why: 'runbook: "Restart deployment if configuration issue", after restoring the last applied values',
        },
        escalate(`config map ${drifted.name} is still wrong after the restore`),
      ],
    };
  }

  const configGaps = f.config.missingEnv.filter((m) => m.source === 'configMap');
  if (configGaps.length > 0) {
    const humanFix = configGaps.map((m) => `add key ${m.key} to config map ${m.object} (env ${m.variable})`).join('; ');
    return {
      category: 'missing-key',
      symptom: 'crash-loop',
      cause: `a required config key is missing with no last applied value to restore: ${humanFix}`,
      evidence: cap(evidence),
      candidates: [
        { remedy: { kind: 'restart', humanFix }, why: `a human must ${humanFix} (no known good value), then a restart picks it up` },
        escalate(`human fix required: ${humanFix}`),
      ],
    };
  }

  // "Dependency connectivity issues": nothing in the cluster to change. Pods that crash because
  // of a dependency say so in their logs; a failed probe their logs do not echo, beside a recent
  // rollout, is weaker than the rollout (a worker too loaded to hear the probe's answer in time
  // once handed 68 of 200 bad rollouts to a person as "anthropic is unreachable").
  const down = f.dependencies.probes.filter((p) => !p.ok);
  const undo = recentRolloutUndo(f);
  const rolloutFirst = options.rolloutOverSilentDependency !== false && undo !== undefined && !logsMention(f, down);
  if (down.length > 0 && !rolloutFirst) return dependencyUnreachable(f, 'crash-loop', evidence);

  // A recent rollout whose previous revision was healthy: undo it.
  if (undo) {
    const probes = down.map((p) => `${p.name} ${p.url}: ${p.status ?? p.error ?? 'failed'} (not in the pods' logs)`);
    return badRollout(w.currentRevision, undo, 'crash-loop', 'fails', [...evidence, ...probes]);
  }

  return emergencyLadder(f, 'crash-loop', 'pods crash and no known cause matches the findings', evidence);
}

// --- If No Pods Running ------------------------------------------------------

function noPodsRunning(f: Findings): Diagnosis {
  const w = f.workload;
  if (w.desiredReplicas === 0) {
    return {
      category: 'scaled-to-zero',
      symptom: 'no-pods',
      cause: 'the deployment is scaled to 0 replicas',
      evidence: [workloadLine(f)],
      candidates: [
        { remedy: { kind: 'scale', replicas: 2 }, why: 'runbook: "kubectl scale deployment agent-native-framework --replicas=2"' },
        escalate('scaling up did not bring pods back'),
      ],
    };
  }
  const failures = [
    ...f.resources.schedulingFailures,
    ...f.events.events.filter((e) => e.reason === 'FailedScheduling' || (e.reason === 'FailedCreate' && /quota/i.test(e.message))).map((e) => e.message),
  ];
  if (failures.length > 0) {
    // Capacity is for a human: more nodes or a bigger quota, never a blind mutation.
    const pool = nodePoolOf(w.nodeSelector);
    return {
      category: 'unschedulable',
      symptom: 'no-pods',
      cause: pool
        ? `pods cannot be scheduled: node pool ${pool.name} (nodeSelector ${pool.selector}) has no room for them`
        : 'pods cannot be scheduled: not enough capacity or quota',
      evidence: cap([
        ...(pool ? [`pods are pinned to node pool ${pool.name} by nodeSelector ${pool.selector}`] : []),
        ...unique(failures).slice(0, 3),
        ...capacityLines(f),
      ]),
      candidates: [
        escalate(pool ? `more capacity needed in node pool ${pool.name}: a human decision` : 'more capacity needed (nodes or quota): a human decision'),
      ],
      ...(pool ? { commonCause: { kind: 'node-pool', name: pool.name } } : {}),
    };
  }
  return emergencyLadder(f, 'no-pods', 'no pod is running and no scheduling failure explains it', [workloadLine(f), ...w.pods.slice(0, 3).map(podLine)]);
}

// --- If Pods Running but Unhealthy -------------------------------------------

function runningButUnhealthy(f: Findings, resourceStarvation: boolean): Diagnosis {
  const h = f.health;
  const w = f.workload;
  const evidence = [workloadLine(f), healthLine(f)];
  if (h.service.exists && h.service.endpoints === 0 && w.readyReplicas > 0 && !selects(h.service.selector, h.podLabels)) {
    return {
      category: 'selector-mismatch',
      symptom: 'unhealthy',
      cause: `${h.service.name ? `service ${h.service.name}` : 'the service'} selects no pods: selector ${labels(h.service.selector)} does not match pod labels ${labels(h.podLabels)}`,
      evidence: cap(evidence),
      candidates: [
        {
          remedy: { kind: 'fix-selector', service: h.service.name, selector: h.podLabels },
          why: 'runbook: "Check service and ingress": point the selector at the pods',
        },
        escalate('the service still has no endpoints'),
      ],
    };
  }
  const down = f.dependencies.probes.filter((p) => !p.ok);
  if (h.ready.status !== 200 && (down.length > 0 || dependencyPattern.test(h.ready.body))) {
    return dependencyUnreachable(f, 'unhealthy', evidence);
  }
  const starved = resourceStarvation ? starvedContainer(f) : undefined;
  if (starved) {
    return {
      category: 'resource-starved',
      symptom: 'unhealthy',
      cause: `container ${starved.container.name} runs but never gets ready: ${starved.why}`,
      evidence: cap([...starved.evidence, ...evidence]),
      candidates: [
        {
          remedy: {
            kind: 'runbook-resources',
            container: starved.container.name,
            current: { requests: starved.container.requests, limits: starved.container.limits },
          },
          why: 'runbook Resolution step 2, "Resource Issues": requests memory 1Gi / cpu 500m, limits memory 4Gi / cpu 2000m',
        },
        escalate("the runbook's requests and limits did not make the pods ready: needs capacity planning or a code fix"),
      ],
    };
  }
  // A recent rollout whose pods run but never got ready, where the revision before was ready: undo it.
  const undo = w.readyReplicas === 0 ? recentRolloutUndo(f) : undefined;
  if (undo) return badRollout(w.currentRevision, undo, 'unhealthy', 'runs but never gets ready', evidence);
  return emergencyLadder(f, 'unhealthy', 'pods run but the service is unhealthy and no known cause matches', evidence);
}

/** The runbook's CPU request (Resolution step 2): a CPU limit below it cannot be what the service is sized for. */
const runbookCpuRequestMillis = 500;
/** Usage at this share of the CPU limit or more is throttling (kubectl top shows the limit, never above it). */
const throttledShare = 0.9;

/**
 * Pods that run, are not ready, and have too little CPU: their usage sits at the
 * container's CPU limit (throttled), or, where kubectl top has no figures, the limit
 * is below the runbook's CPU request. Never for a crash or an OOM kill: those are
 * other branches.
 */
function starvedContainer(f: Findings): { container: ContainerSpec; why: string; evidence: string[] } | undefined {
  const w = f.workload;
  const container = w.containers[0];
  const limitText = container?.limits.cpu;
  if (!container || limitText === undefined) return undefined;
  const limit = Math.round((parseQuantity(limitText) ?? 0) * 1000);
  if (limit <= 0) return undefined;
  const unready = w.pods.filter((p) => p.phase === 'Running' && !p.ready);
  if (unready.length === 0) return undefined;
  const throttled = f.resources.podUsage.filter((u) => u.cpuMillis >= limit * throttledShare);
  const usageUnknown = f.resources.podUsage.length === 0;
  if (throttled.length === 0 && !(usageUnknown && limit < runbookCpuRequestMillis)) return undefined;
  const probes = f.events.events.filter((e) => e.reason === 'Unhealthy').map((e) => `${e.object}: ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`);
  const resources = `container ${container.name}: requests ${quantities(container.requests)}, limits ${quantities(container.limits)} (runbook: requests cpu=500m,memory=1Gi, limits cpu=2000m,memory=4Gi)`;
  const why =
    throttled.length > 0
      ? `its CPU use is pinned at its ${limitText} CPU limit (throttled) on ${throttled.length} pod(s)`
      : `its CPU limit ${limitText} is below the runbook's ${runbookCpuRequestMillis}m request (no usage figures: ${f.resources.gaps?.join('; ') ?? 'kubectl top gave none'})`;
  return {
    container,
    why,
    evidence: [
      resources,
      ...throttled.slice(0, 3).map((u) => `${u.pod}: cpu ${u.cpuMillis}m of limit ${limit}m (kubectl top)`),
      ...unready.slice(0, 2).map(podLine),
      ...unique(probes).slice(0, 2),
    ],
  };
}

function quantities(q: { cpu?: string | undefined; memory?: string | undefined }): string {
  return [q.cpu === undefined ? '' : `cpu=${q.cpu}`, q.memory === undefined ? '' : `memory=${q.memory}`].filter(Boolean).join(',') || '(none)';
}

function dependencyUnreachable(f: Findings, symptom: Symptom, evidence: string[]): Diagnosis {
  const down = f.dependencies.probes.filter((p) => !p.ok);
  const names = down.map((p) => p.name).join(', ') || 'a dependency';
  return {
    category: 'dependency-unreachable',
    symptom,
    cause: `${names} is unreachable: the service cannot work until it is back`,
    evidence: cap([...down.map((p) => `${p.name} ${p.url}: ${p.status ?? p.error ?? 'failed'}`), ...evidence]),
    candidates: [escalate(`wait for ${names} (or fail over): nothing in the cluster to change`)],
    ...(down.length > 0
      ? {
          commonCause: {
            kind: 'dependency',
            name: down
              .map((p) => p.name)
              .sort()
              .join(','),
          },
        }
      : {}),
  };
}

// --- Emergency Mitigation: the runbook's three options, in order --------------

function emergencyLadder(f: Findings, symptom: Symptom, cause: string, evidence: string[]): Diagnosis {
  const w = f.workload;
  const previous = w.revisions.filter((r) => r.revision < w.currentRevision).sort((a, b) => b.revision - a.revision)[0];
  const configMap = f.config.configMaps.find((cm) => cm.exists);
  const candidates: Candidate[] = [];
  if (previous)
    candidates.push({
      remedy: { kind: 'rollout-undo', toRevision: previous.revision },
      why: 'emergency option 1: rollback to the previous version',
      ladder: true,
    });
  candidates.push({ remedy: { kind: 'scale', replicas: 4 }, why: 'emergency option 2: scale up replicas', ladder: true });
  if (configMap)
    candidates.push({ remedy: { kind: 'debug-logging', configMap: configMap.name }, why: 'emergency option 3: LOG_LEVEL=DEBUG and restart', ladder: true });
  candidates.push(escalate('the emergency options did not restore the service'));
  return { category: 'unknown', symptom, cause, evidence: cap(evidence), candidates };
}

// --- Helpers -----------------------------------------------------------------

function escalate(reason: string): Candidate {
  return { remedy: { kind: 'escalate', reason }, why: reason };
}

function hasReason(p: PodSummary, reasons: Set<string>): boolean {
  return p.waitingReason !== undefined && reasons.has(p.waitingReason);
}

function isCrashing(p: PodSummary): boolean {
  return hasReason(p, crashReasons) || (!p.ready && p.restarts > 0 && p.lastTermination !== undefined);
}

function isHealthy(f: Findings): boolean {
  const { workload: w, health: h } = f;
  return (
    w.desiredReplicas > 0 &&
    w.readyReplicas >= w.desiredReplicas &&
    h.live.status === 200 &&
    h.ready.status === 200 &&
    (!h.service.exists || h.service.endpoints > 0)
  );
}

/** Runbook emergency option 1 for a recent rollout of new images whose revision before it ran. */
function badRollout(
  currentRevision: number,
  undo: NonNullable<ReturnType<typeof recentRolloutUndo>>,
  symptom: Symptom,
  what: string,
  evidence: string[],
): Diagnosis {
  return {
    category: 'bad-rollout',
    symptom,
    cause: `revision ${currentRevision} (rolled out ${undo.age} ago, new images) ${what}; revision ${undo.toRevision} ran before it`,
    evidence: cap([
      `revision ${currentRevision}: ${undo.currentImages}; revision ${undo.toRevision}: ${undo.previousImages} (${undo.previousReady} ready)`,
      ...(undo.changeCause ? [`revision ${currentRevision} is release ${undo.release} (change-cause: ${undo.changeCause})`] : []),
      ...evidence,
    ]),
    candidates: [
      {
        remedy: { kind: 'rollout-undo', toRevision: undo.toRevision },
        why: `runbook emergency option 1: roll back to revision ${undo.toRevision}, the last healthy one`,
      },
      escalate('the rollback did not restore the service'),
    ],
    commonCause: { kind: 'release', name: undo.release },
  };
}

/**
 * The release a revision is: the name its change-cause gives ("release v1.5.0: kubectl
 * set image ..." names v1.5.0), or else its images, which every service of one
 * release shares.
 */
export function releaseOf(revision: { images: string[]; changeCause?: string | undefined }): string {
  const named = /^\s*release\s+([^\s:;,]+)/i.exec(revision.changeCause ?? '')?.[1];
  return named ?? ([...revision.images].sort().join(',') || 'unknown');
}

/** The node pool a nodeSelector pins pods to, by the labels that name pools (or the whole selector). */
function nodePoolOf(selector: Record<string, string> | undefined): { name: string; selector: string } | undefined {
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const key = nodePoolLabels.find((k) => selector[k] !== undefined);
  return { name: key ? (selector[key] ?? '') : labels(selector), selector: labels(selector) };
}

function recentRolloutUndo(
  f: Findings,
):
  { toRevision: number; age: string; currentImages: string; previousImages: string; previousReady: number; release: string; changeCause?: string } | undefined {
  const w = f.workload;
  const current = w.revisions.find((r) => r.revision === w.currentRevision);
  if (!current) return undefined;
  // Only a rollout that changed the code is the suspect (a restart, a resource change or our
  // own rollback re-creates a template with the same images: undoing it helps nothing).
  const older = w.revisions.filter((r) => r.revision < w.currentRevision).sort((a, b) => b.revision - a.revision);
  const otherImages = older.filter((r) => !sameImages(r.images, current.images));
  // A replica set still serving pods proves its revision healthy. Scaled to zero (a
  // Recreate strategy, a finished rollout), the last revision before images never run
  // here before is the one that ran until this rollout broke the service.
  const imagesAreNew = otherImages.length === older.length;
  const previous = otherImages.find((r) => r.readyReplicas > 0) ?? (imagesAreNew ? otherImages[0] : undefined);
  if (!previous) return undefined;
  const ageMs = Date.parse(f.collectedAt) - Date.parse(current.createdAt);
  if (!(ageMs >= 0 && ageMs <= recentRolloutMs)) return undefined;
  return {
    toRevision: previous.revision,
    age: `${Math.round(ageMs / 60_000)}m`,
    currentImages: current.images.join(', '),
    previousImages: previous.images.join(', '),
    previousReady: previous.readyReplicas,
    release: releaseOf(current),
    ...(current.changeCause ? { changeCause: current.changeCause } : {}),
  };
}

function sameImages(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().every((image, i) => image === [...b].sort()[i]);
}

function selects(selector: Record<string, string>, podLabels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => podLabels[k] === v);
}

function labels(map: Record<string, string>): string {
  const text = Object.entries(map)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return text || '(none)';
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}

function cap(lines: string[]): string[] {
  return lines.slice(0, 10).map((l) => (l.length > 240 ? `${l.slice(0, 237)}...` : l));
}

function podLine(p: PodSummary): string {
  const state = p.waitingReason ?? (p.ready ? 'Ready' : p.phase);
  const last = p.lastTermination ? `, last exit ${p.lastTermination.reason} (${p.lastTermination.exitCode})` : '';
  return `pod ${p.name}: ${state}, ${p.restarts} restarts${last}`;
}

/** Whether the pods' error lines name one of the dependencies, by its name or its URL's host. */
function logsMention(f: Findings, dependencies: Findings['dependencies']['probes']): boolean {
  const words = dependencies.flatMap((p) => [p.name, /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(p.url)?.[1] ?? ''].filter((w) => w.length > 0));
  return f.logs.lastErrorLines.some((l) => words.some((w) => l.line.toLowerCase().includes(w.toLowerCase())));
}

function logLines(f: Findings): string[] {
  const lines = [...f.logs.lastErrorLines].sort((a, b) => Number(b.previous) - Number(a.previous));
  return lines.slice(0, 3).map((l) => `log ${l.previous ? '(previous) ' : ''}${l.pod}: ${l.line}`);
}

function workloadLine(f: Findings): string {
  const w = f.workload;
  return `deployment ${w.readyReplicas}/${w.desiredReplicas} ready, revision ${w.currentRevision}`;
}

function healthLine(f: Findings): string {
  const h = f.health;
  return `service endpoints ${h.service.endpoints}; /health/live ${h.live.status}, /health/ready ${h.ready.status}${h.ready.status === 200 ? '' : ` (${h.ready.body.slice(0, 80)})`}`;
}

function capacityLines(f: Findings): string[] {
  const nodes = f.resources.nodes.map(
    (n) =>
      `node ${n.name}${n.ready ? '' : ' NotReady'}: cpu ${n.requested.cpuMillis}m/${n.allocatable.cpuMillis}m, memory ${formatMemory(n.requested.memoryBytes)}/${formatMemory(n.allocatable.memoryBytes)} requested${n.pressure.length ? `, ${n.pressure.join(', ')}` : ''}`,
  );
  const quotas = f.resources.quotas.map(
    (q) =>
      `quota ${q.name}: ${Object.keys(q.hard)
        .map((k) => `${k} ${q.used[k] ?? '?'}/${q.hard[k]}`)
        .join(', ')}`,
  );
  return [...nodes.slice(0, 4), ...quotas.slice(0, 2)];
}

/** Compact lines for the status query and the report: one per investigation step. */
export function summarizeFindings(f: Findings): string[] {
  const w = f.workload;
  if (!w.exists) return ['deployment not found'];
  const byState = new Map<string, number>();
  for (const p of w.pods) {
    const state = p.waitingReason ?? (p.ready ? 'Ready' : p.phase);
    byState.set(state, (byState.get(state) ?? 0) + 1);
  }
  const pods = [...byState].map(([state, n]) => `${n} ${state}`).join(', ') || 'none';
  const restarts = w.pods.reduce((sum, p) => sum + p.restarts, 0);
  const terminations = unique(w.pods.flatMap((p) => (p.lastTermination ? [`${p.lastTermination.reason} (${p.lastTermination.exitCode})`] : [])));
  const drift = f.config.configMaps.filter((cm) => cm.drift.length > 0).map((cm) => `drift in ${cm.name} [${cm.drift.map((d) => d.key).join(', ')}]`);
  const missing = f.config.missingEnv.map((m) => `missing ${m.variable} (${m.source} ${m.object}.${m.key})`);
  const down = f.dependencies.probes.filter((p) => !p.ok).map((p) => `${p.name} unreachable`);
  return [
    `${workloadLine(f)}; pods: ${pods}; ${restarts} restarts${terminations.length ? `; last exit ${terminations.join(', ')}` : ''}`,
    `logs: ${f.logs.errorCount} errors, ${f.logs.exceptionCount} exceptions, ${f.logs.fatalCount} fatal`,
    `resources: ${f.resources.nodes.filter((n) => n.ready).length}/${f.resources.nodes.length} nodes ready; ${f.resources.schedulingFailures.length} scheduling failures`,
    `config: ${[...drift, ...missing].join('; ') || 'no drift, required env present'}`,
    `dependencies: ${down.join(', ') || `${f.dependencies.probes.length} probes ok`}`,
    healthLine(f),
    `events: ${f.events.events.length} recent${f.events.events.length ? `, last ${f.events.events[f.events.events.length - 1]?.reason ?? ''}` : ''}`,
  ];
}
