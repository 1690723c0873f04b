// Human-readable changes between an object and its server-side dry-run (or
// applied) version: what the approver reads, e.g. "memory limit of
// agent-manager 256Mi → 512Mi". Only what a human decides on is described:
// replicas, images, resources, env, restarts, config data, selectors.
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { restartedAtAnnotation } from './kube/objects.js';
import { redact, type Redactor } from './redact.js';

const none = '(none)';

function arrow(what: string, before: string | undefined, after: string | undefined): string {
  return `${what} ${before ?? none} → ${after ?? none}`;
}

function containerChanges(before: V1Container | undefined, after: V1Container | undefined, name: string): string[] {
  if (!before) return [`container ${name} added (image ${after?.image ?? none})`];
  if (!after) return [`container ${name} removed`];
  const changes: string[] = [];
  if (before.image !== after.image) changes.push(arrow(`image of ${name}`, before.image, after.image));
  for (const kind of ['limits', 'requests'] as const) {
    for (const resource of ['memory', 'cpu']) {
      const was = before.resources?.[kind]?.[resource];
      const now = after.resources?.[kind]?.[resource];
      if (was !== now) changes.push(arrow(`${resource} ${kind === 'limits' ? 'limit' : 'request'} of ${name}`, was, now));
    }
  }
  const envBefore = new Map((before.env ?? []).map((e) => [e.name, JSON.stringify(e.value ?? e.valueFrom ?? null)]));
  const envAfter = new Map((after.env ?? []).map((e) => [e.name, JSON.stringify(e.value ?? e.valueFrom ?? null)]));
  for (const variable of new Set([...envBefore.keys(), ...envAfter.keys()])) {
    if (!envBefore.has(variable)) changes.push(`env ${variable} of ${name} added`);
    else if (!envAfter.has(variable)) changes.push(`env ${variable} of ${name} removed`);
    else if (envBefore.get(variable) !== envAfter.get(variable)) changes.push(`env ${variable} of ${name} changed`);
  }
  return changes;
}

export function deploymentChanges(before: V1Deployment, after: V1Deployment): string[] {
  const changes: string[] = [];
  if (before.spec?.replicas !== after.spec?.replicas) changes.push(arrow('replicas', before.spec?.replicas?.toString(), after.spec?.replicas?.toString()));
  const containersBefore = new Map((before.spec?.template?.spec?.containers ?? []).map((c) => [c.name, c]));
  const containersAfter = new Map((after.spec?.template?.spec?.containers ?? []).map((c) => [c.name, c]));
  for (const name of new Set([...containersBefore.keys(), ...containersAfter.keys()])) {
    changes.push(...containerChanges(containersBefore.get(name), containersAfter.get(name), name));
  }
  const restartedBefore = before.spec?.template?.metadata?.annotations?.[restartedAtAnnotation];
  const restartedAfter = after.spec?.template?.metadata?.annotations?.[restartedAtAnnotation];
  if (restartedBefore !== restartedAfter) changes.push(`pods restart (restartedAt ${restartedBefore ?? none} → ${restartedAfter ?? none})`);
  return changes;
}

export function dataChanges(object: string, before: Record<string, string>, after: Record<string, string>, redactor: Redactor = redact): string[] {
  const show = (key: string, value: string | undefined) => (value === undefined ? undefined : JSON.stringify(redactor.value(key, value)));
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .sort()
    .filter((key) => before[key] !== after[key])
    .map((key) => arrow(`${object} ${key}`, show(key, before[key]), show(key, after[key])));
}

function selectorText(selector: Record<string, string> | undefined): string {
  const pairs = Object.entries(selector ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(',') : '(empty)';
}

export function selectorChanges(service: string, before: Record<string, string> | undefined, after: Record<string, string> | undefined): string[] {
  const was = selectorText(before);
  const now = selectorText(after);
  return was === now ? [] : [`selector of service ${service} ${was} → ${now}`];
}
