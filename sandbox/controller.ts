// The deployment and replica-set controllers, and owner-reference garbage
// collection, following kube-controller-manager: a deployment's template maps to
// a replica set named <deployment>-<pod-template-hash>; a template equal to an
// old replica set's (rollout undo) reuses it and bumps its revision; Recreate
// scales old replica sets to zero and waits for their pods to go before scaling
// the new one up; RollingUpdate honours maxSurge/maxUnavailable; status and the
// Available / Progressing / ReplicaFailure conditions follow the pods.
import { randomInt } from 'node:crypto';
import { admit, canonical, qosClass } from './admission.js';
import type { ApiError } from './errors.js';
import type { EventRecorder } from './events.js';
import { requestPodDeletion } from './pods.js';
import { checkQuota } from './quota.js';
import { R } from './resources.js';
import { keyOf, type Store } from './store.js';
import { isoSeconds } from './time.js';
import type { Condition, Deployment, KObject, OwnerReference, Pod, PodTemplate, ReplicaSet } from './types.js';

const revisionAnnotation = 'deployment.kubernetes.io/revision';
const historyAnnotation = 'deployment.kubernetes.io/revision-history';
const desiredAnnotation = 'deployment.kubernetes.io/desired-replicas';
const maxAnnotation = 'deployment.kubernetes.io/max-replicas';
const hashLabel = 'pod-template-hash';
const skipAnnotations = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  historyAnnotation,
  desiredAnnotation,
  maxAnnotation,
  'deprecated.deployment.rollback.to',
]);

function withoutHash(template: PodTemplate): PodTemplate {
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels[hashLabel];
  return { ...template, metadata: { ...template.metadata, labels } };
}

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** The pod-template-hash: FNV-32a of the template, encoded as rand.SafeEncodeString does. */
function templateHash(template: PodTemplate): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(canonical(withoutHash(template)))) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => safeAlphabet[c.charCodeAt(0) % safeAlphabet.length]).join('');
}

function revisionOf(o: KObject): number {
  return Number(o.metadata.annotations?.[revisionAnnotation] ?? 0) || 0;
}

/** Same object, whatever version of it each side holds. */
function same(a: KObject | undefined, b: KObject | undefined): boolean {
  return a !== undefined && b !== undefined && a.metadata.uid === b.metadata.uid;
}

function controllerRef(o: KObject, kind: string): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller && r.kind === kind);
}

function resolvePercent(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value ?? '25%');
  const pct = Number(m?.[1] ?? 25);
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

function surgeAndUnavailable(d: Deployment): { surge: number; unavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  if (d.spec.strategy?.type !== 'RollingUpdate') return { surge: 0, unavailable: 0 };
  const surge = resolvePercent(d.spec.strategy.rollingUpdate?.maxSurge, replicas, true);
  const unavailable = resolvePercent(d.spec.strategy.rollingUpdate?.maxUnavailable, replicas, false);
  return { surge, unavailable: surge === 0 && unavailable === 0 ? 1 : Math.min(unavailable, replicas) };
}

function rsAnnotations(d: Deployment, revision: number, history: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!skipAnnotations.has(k)) out[k] = v;
  out[revisionAnnotation] = String(revision);
  if (history) out[historyAnnotation] = history;
  out[desiredAnnotation] = String(d.spec.replicas ?? 1);
  out[maxAnnotation] = String((d.spec.replicas ?? 1) + surgeAndUnavailable(d).surge);
  return out;
}

/** The replica set the controller creates for a deployment's template at a revision. */
export function replicaSetFor(d: Deployment, template: PodTemplate, revision: number, replicas: number): ReplicaSet {
  const hash = templateHash(template);
  const labels = { ...(template.metadata?.labels ?? {}), [hashLabel]: hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels,
      annotations: rsAnnotations(d, revision, undefined),
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
      generation: 1,
    },
    spec: {
      replicas,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [hashLabel]: hash } },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
    status: { replicas: 0 },
  };
}

function setCondition(conditions: Condition[], next: Condition, now: string): Condition[] {
  const current = conditions.find((c) => c.type === next.type);
  const sameState = current?.status === next.status && current.reason === next.reason;
  const merged: Condition = {
    ...next,
    lastUpdateTime: sameState && !next.lastUpdateTime ? (current.lastUpdateTime ?? now) : (next.lastUpdateTime ?? now),
    lastTransitionTime: current?.status === next.status ? (current.lastTransitionTime ?? now) : now,
  };
  return current ? conditions.map((c) => (c.type === next.type ? merged : c)) : [...conditions, merged];
}

export class DeploymentController {
  private readonly dirtyDeployments = new Set<string>();
  private readonly dirtyReplicaSets = new Set<string>();
  private readonly deletedOwners = new Set<string>();
  private lastResync = 0;

  constructor(
    private readonly store: Store,
    private readonly events: EventRecorder,
    private readonly usedClusterIPs: () => Set<string>,
  ) {
    store.subscribe((change) => {
      const o = change.object;
      const ns = o.metadata.namespace;
      if (change.type === 'DELETED' && (change.resource === R.deployments || change.resource === R.replicasets)) this.deletedOwners.add(o.metadata.uid ?? '');
      if (change.resource === R.deployments) this.dirtyDeployments.add(keyOf(ns, o.metadata.name));
      else if (change.resource === R.replicasets) {
        this.dirtyReplicaSets.add(keyOf(ns, o.metadata.name));
        const owner = controllerRef(o, 'Deployment');
        if (owner) this.dirtyDeployments.add(keyOf(ns, owner.name));
      } else if (change.resource === R.pods) {
        const owner = controllerRef(o, 'ReplicaSet') ?? (change.previous ? controllerRef(change.previous, 'ReplicaSet') : undefined);
        if (owner) this.dirtyReplicaSets.add(keyOf(ns, owner.name));
      }
    });
  }

  /** One pass of garbage collection and both controllers. */
  sync(now: number, resyncMs: number): void {
    this.collectGarbage();
    if (now - this.lastResync >= resyncMs) {
      // Periodic resync, as informers do: progress deadlines pass without any change.
      this.lastResync = now;
      for (const d of this.store.list(R.deployments)) this.dirtyDeployments.add(keyOf(d.metadata.namespace, d.metadata.name));
    }
    for (const key of [...this.dirtyReplicaSets]) {
      this.dirtyReplicaSets.delete(key);
      const [ns, name] = key.split('/') as [string, string];
      const rs = this.store.get<ReplicaSet>(R.replicasets, ns, name);
      if (rs) this.syncReplicaSet(rs, now);
    }
    for (const key of [...this.dirtyDeployments]) {
      this.dirtyDeployments.delete(key);
      const [ns, name] = key.split('/') as [string, string];
      const d = this.store.get<Deployment>(R.deployments, ns, name);
      if (d) this.syncDeployment(d, now);
    }
  }

  private collectGarbage(): void {
    if (this.deletedOwners.size === 0) return;
    const owners = [...this.deletedOwners];
    this.deletedOwners.clear();
    for (const uid of owners) {
      for (const rs of this.store.owned(R.replicasets, uid)) this.store.remove(R.replicasets, rs.metadata.namespace, rs.metadata.name);
      for (const pod of this.store.owned<Pod>(R.pods, uid)) requestPodDeletion(this.store, pod);
    }
  }

  // ---- replica sets ----

  private syncReplicaSet(rs: ReplicaSet, now: number): void {
    const pods = this.store.owned<Pod>(R.pods, rs.metadata.uid ?? '').filter((p) => controllerRef(p, 'ReplicaSet')?.uid === rs.metadata.uid);
    const active = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const want = rs.spec.replicas ?? 1;
    let failure: string | undefined;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) {
        const result = this.createPod(rs);
        if (typeof result === 'string') {
          failure = result;
          break;
        }
        active.push(result);
      }
    } else if (active.length > want) {
      const rank = (p: Pod) => (!p.spec.nodeName ? 0 : p.status?.phase === 'Pending' ? 1 : isReady(p) ? 3 : 2);
      const victims = [...active]
        .sort((a, b) => rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''))
        .slice(0, active.length - want);
      for (const pod of victims) {
        requestPodDeletion(this.store, pod);
        this.events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, { component: 'replicaset-controller' });
      }
      active.splice(0, active.length, ...active.filter((p) => !victims.includes(p)));
    }
    const ready = active.filter(isReady).length;
    let conditions = rs.status?.conditions ?? [];
    const stamp = isoSeconds(now);
    if (failure)
      conditions = setCondition(conditions, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure }, stamp).map(
        ({ lastUpdateTime: _u, ...c }) => c,
      );
    else conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.length,
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
      observedGeneration: rs.metadata.generation ?? 1,
      ...(conditions.length ? { conditions } : {}),
    };
    if (JSON.stringify(status) !== JSON.stringify(rs.status)) this.store.update(R.replicasets, { ...rs, status });
  }

  private createPod(rs: ReplicaSet): Pod | string {
    let name: string;
    do {
      name = `${rs.metadata.name}-${Array.from({ length: 5 }, () => safeAlphabet[randomInt(safeAlphabet.length)]).join('')}`;
    } while (this.store.get(R.pods, rs.metadata.namespace, name));
    const template = rs.spec.template;
    const draft: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: template.metadata?.labels ?? {},
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: structuredClone(template.spec),
    };
    try {
      const pod = admit(R.pods, draft, this.usedClusterIPs) as Pod;
      checkQuota(this.store, pod);
      const created = this.store.create(R.pods, { ...pod, status: { phase: 'Pending', qosClass: qosClass(pod.spec) } });
      this.events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, { component: 'replicaset-controller' });
      return created;
    } catch (e) {
      const message = `Error creating: ${(e as ApiError).message}`;
      this.events.record(rs, 'Warning', 'FailedCreate', message, { component: 'replicaset-controller' });
      return message;
    }
  }

  // ---- deployments ----

  private scale(d: Deployment, rs: ReplicaSet, replicas: number): ReplicaSet {
    const from = rs.spec.replicas ?? 0;
    if (from === replicas) return rs;
    const annotations = {
      ...rs.metadata.annotations,
      [desiredAnnotation]: String(d.spec.replicas ?? 1),
      [maxAnnotation]: String((d.spec.replicas ?? 1) + surgeAndUnavailable(d).surge),
    };
    const updated = this.store.update(R.replicasets, { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas } });
    const direction = replicas > from ? 'up' : 'down';
    this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rs.metadata.name} to ${replicas} from ${from}`, {
      component: 'deployment-controller',
    });
    return updated;
  }

  /** Finds the replica set for the current template, creating it when asked, and keeps revisions in order. */
  private newReplicaSet(d: Deployment, all: ReplicaSet[], create: boolean, initial: number): { rs: ReplicaSet | undefined; created: boolean; d: Deployment } {
    const template = d.spec.template;
    const key = canonical(withoutHash(template));
    const existing = all.find((rs) => canonical(withoutHash(rs.spec.template)) === key);
    const maxOld = Math.max(0, ...all.filter((rs) => rs !== existing).map(revisionOf));
    let rs = existing;
    let created = false;
    if (existing) {
      const current = revisionOf(existing);
      const revision = current <= maxOld ? maxOld + 1 : current;
      const previousHistory = existing.metadata.annotations?.[historyAnnotation];
      const history = revision !== current && current > 0 ? [previousHistory, String(current)].filter(Boolean).join(',') : previousHistory;
      const annotations = rsAnnotations(d, revision, history);
      if (canonical(annotations) !== canonical(existing.metadata.annotations ?? {})) {
        rs = this.store.update(R.replicasets, { ...existing, metadata: { ...existing.metadata, annotations } });
      }
    } else if (create) {
      let candidate = replicaSetFor(d, template, maxOld + 1, initial);
      // A hash collision with an unrelated replica set: real controllers bump collisionCount.
      for (let n = 1; this.store.get(R.replicasets, d.metadata.namespace, candidate.metadata.name); n++) {
        candidate = {
          ...candidate,
          metadata: {
            ...candidate.metadata,
            name: `${d.metadata.name}-${templateHash({ ...template, metadata: { ...template.metadata, annotations: { ...template.metadata?.annotations, collision: String(n) } } })}`,
          },
        };
      }
      rs = this.store.create(R.replicasets, candidate);
      created = true;
      if (initial > 0)
        this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} to ${initial} from 0`, {
          component: 'deployment-controller',
        });
    }
    const revision = rs ? String(revisionOf(rs)) : undefined;
    if (revision && d.metadata.annotations?.[revisionAnnotation] !== revision) {
      d = this.store.update(R.deployments, { ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [revisionAnnotation]: revision } } });
    }
    return { rs, created, d };
  }

  private syncDeployment(d: Deployment, now: number): void {
    const uid = d.metadata.uid ?? '';
    let all = this.store.owned<ReplicaSet>(R.replicasets, uid).filter((rs) => controllerRef(rs, 'Deployment')?.uid === uid);
    const replicas = d.spec.replicas ?? 1;
    let createdNew = false;
    const found = this.newReplicaSet(d, all, false, 0);
    d = found.d;
    let newRS = found.rs;
    if (!d.spec.paused) {
      if (d.spec.strategy?.type === 'Recreate') {
        for (const rs of all) if (!same(rs, newRS) && (rs.spec.replicas ?? 0) > 0) this.scale(d, rs, 0);
        const oldPods = all.some((rs) => !same(rs, newRS) && this.store.owned(R.pods, rs.metadata.uid ?? '').length > 0);
        if (!oldPods) {
          if (!newRS) {
            const made = this.newReplicaSet(d, all, true, replicas);
            ({ d, rs: newRS, created: createdNew } = made);
          } else newRS = this.scale(d, newRS, replicas);
        }
      } else {
        const { surge, unavailable } = surgeAndUnavailable(d);
        if (!newRS) {
          const total = all.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
          const made = this.newReplicaSet(d, all, true, Math.max(0, Math.min(replicas, replicas + surge - total)));
          ({ d, rs: newRS, created: createdNew } = made);
        } else {
          const total = all.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
          const current = newRS.spec.replicas ?? 0;
          if (current > replicas) newRS = this.scale(d, newRS, replicas);
          else if (current < replicas) newRS = this.scale(d, newRS, current + Math.max(0, Math.min(replicas + surge - total, replicas - current)));
        }
        this.scaleDownOld(
          d,
          all.filter((rs) => !same(rs, newRS)),
          newRS,
          replicas - unavailable,
        );
      }
    }
    all = this.store.owned<ReplicaSet>(R.replicasets, uid).filter((rs) => controllerRef(rs, 'Deployment')?.uid === uid);
    newRS = newRS ? (all.find((rs) => rs.metadata.uid === newRS?.metadata.uid) ?? newRS) : undefined;
    this.writeStatus(d, all, newRS, createdNew, now);
  }

  private scaleDownOld(d: Deployment, old: ReplicaSet[], newRS: ReplicaSet | undefined, minAvailable: number): void {
    const all = newRS ? [...old, newRS] : old;
    const newUnavailable = (newRS?.spec.replicas ?? 0) - (newRS?.status?.availableReplicas ?? 0);
    let budget = all.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0) - minAvailable - newUnavailable;
    const byAge = [...old].sort((a, b) => revisionOf(a) - revisionOf(b));
    // Unhealthy old replicas go first: removing them costs no availability.
    for (const rs of byAge) {
      if (budget <= 0) break;
      const cut = Math.min(budget, (rs.spec.replicas ?? 0) - (rs.status?.availableReplicas ?? 0));
      if (cut > 0) {
        this.scale(d, rs, (rs.spec.replicas ?? 0) - cut);
        budget -= cut;
      }
    }
    const available = all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    let canRemove = Math.min(budget, available - minAvailable);
    for (const rs of byAge) {
      if (canRemove <= 0) break;
      const fresh = this.store.get<ReplicaSet>(R.replicasets, rs.metadata.namespace, rs.metadata.name);
      const cut = Math.min(canRemove, fresh?.spec.replicas ?? 0);
      if (fresh && cut > 0) {
        this.scale(d, fresh, (fresh.spec.replicas ?? 0) - cut);
        canRemove -= cut;
      }
    }
  }

  private writeStatus(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined, createdNew: boolean, now: number): void {
    const want = d.spec.replicas ?? 1;
    const sum = (f: (rs: ReplicaSet) => number | undefined) => all.reduce((n, rs) => n + (f(rs) ?? 0), 0);
    const replicas = sum((rs) => rs.status?.replicas);
    const updated = newRS?.status?.replicas ?? 0;
    const ready = sum((rs) => rs.status?.readyReplicas);
    const available = sum((rs) => rs.status?.availableReplicas);
    const prev = d.status ?? {};
    const stamp = isoSeconds(now);
    let conditions = prev.conditions ?? [];
    const minAvailable = want - surgeAndUnavailable(d).unavailable;
    conditions = setCondition(
      conditions,
      available >= minAvailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      stamp,
    );
    const rsName = newRS?.metadata.name ?? d.metadata.name;
    const complete = updated === want && replicas === want && available === want;
    const progressed =
      updated > (prev.updatedReplicas ?? 0) ||
      ready > (prev.readyReplicas ?? 0) ||
      available > (prev.availableReplicas ?? 0) ||
      replicas - updated < (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
    const specChanged = (d.metadata.generation ?? 1) !== prev.observedGeneration;
    const progressing = conditions.find((c) => c.type === 'Progressing');
    // A finished rollout is not watched for progress any more: pods that crash later
    // make the deployment unavailable, not "timed out progressing".
    const settled = replicas === updated && progressing?.reason === 'NewReplicaSetAvailable' && !specChanged;
    const deadlineMs = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
    if (settled) {
      // Nothing to estimate: the condition stays as the finished rollout left it.
    } else if (complete) {
      conditions = setCondition(
        conditions,
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` },
        stamp,
      );
    } else if (createdNew) {
      conditions = setCondition(
        conditions,
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${rsName}"`, lastUpdateTime: stamp },
        stamp,
      );
    } else if (progressed || specChanged || !progressing) {
      conditions = setCondition(
        conditions,
        { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.`, lastUpdateTime: stamp },
        stamp,
      );
    } else if (
      progressing.reason !== 'ProgressDeadlineExceeded' &&
      progressing.reason !== 'NewReplicaSetAvailable' &&
      now - Date.parse(progressing.lastUpdateTime ?? stamp) > deadlineMs
    ) {
      conditions = setCondition(
        conditions,
        { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` },
        stamp,
      );
    }
    const failure = newRS?.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    conditions = failure
      ? setCondition(conditions, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure.message ?? '' }, stamp)
      : conditions.filter((c) => c.type !== 'ReplicaFailure');
    // Counts are omitted when zero, as the API's omitempty does.
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      ...(replicas ? { replicas } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      ...(ready ? { readyReplicas: ready } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(want - available > 0 ? { unavailableReplicas: want - available } : {}),
      conditions,
    };
    if (JSON.stringify(status) !== JSON.stringify(d.status)) this.store.update(R.deployments, { ...d, status });
    if (complete) this.cleanup(d, all, newRS);
  }

  /** Deletes the oldest empty replica sets beyond revisionHistoryLimit. */
  private cleanup(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined): void {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const old = all
      .filter((rs) => !same(rs, newRS) && (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of old.slice(0, Math.max(0, old.length - limit))) {
      if (this.store.owned(R.pods, rs.metadata.uid ?? '').length === 0) this.store.remove(R.replicasets, rs.metadata.namespace, rs.metadata.name);
    }
  }
}

export function isReady(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
