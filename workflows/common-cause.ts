// What many incidents can have in common: the same dependency down, the same node
// pool full, the same release rolled out. Services whose diagnoses share one are
// folded under one major incident (workflows/major-incident.ts), which pages once.
//
// One function reads it from a diagnosis: the structured `commonCause` when the
// diagnosis carries one, otherwise what today's diagnoses already say (the cause
// and the evidence lines workflows/diagnose.ts writes). Pure, deterministic.
import type { Diagnosis } from './diagnose.js';

export type CommonCauseKind = 'dependency' | 'node-pool' | 'release';

/** The shape a diagnosis may carry: its common cause, named by the diagnosis itself. */
export interface StructuredCommonCause {
  kind: CommonCauseKind;
  name: string;
}

export interface CommonCause {
  /** Identifies the cause within a cluster: `<kind>:<name>`. Two incidents with the same key share the cause. */
  key: string;
  /** For people: "dependency anthropic-api unreachable". */
  label: string;
}

type DiagnosisLike = Pick<Diagnosis, 'category' | 'cause' | 'evidence'> & { commonCause?: StructuredCommonCause | undefined };

const labels: Record<CommonCauseKind, (name: string) => string> = {
  dependency: (name) => `dependency ${name} unreachable`,
  'node-pool': (name) => `node pool ${name} full`,
  release: (name) => `release ${name}`,
};

/** The cause this diagnosis may share with other services, or undefined when it is the service's own. */
export function commonCause(diagnosis: DiagnosisLike): CommonCause | undefined {
  const named = diagnosis.commonCause ?? derived(diagnosis);
  if (!named || named.name.trim() === '') return undefined;
  const name = named.name.trim().slice(0, 200);
  return { key: `${named.kind}:${name}`, label: labels[named.kind](name) };
}

/** From today's diagnoses, which carry no structured cause: their cause and evidence text. */
function derived(d: DiagnosisLike): StructuredCommonCause | undefined {
  switch (d.category) {
    case 'dependency-unreachable': {
      // diagnose.ts: "<name>[, <name>] is unreachable: …"; "a dependency" names none.
      const names = /^(.+?) is unreachable/.exec(d.cause)?.[1];
      if (!names || names === 'a dependency') return undefined;
      return { kind: 'dependency', name: sortedList(names.split(',')) };
    }
    case 'unschedulable': {
      const pool = d.evidence.map(nodePoolIn).find((p) => p !== undefined);
      if (pool) return { kind: 'node-pool', name: pool };
      // No pool named: the nodes that are full (capacityLines: "node <name>: cpu …") are the pool.
      const nodes = d.evidence.flatMap((line) => /^node (\S+?):/.exec(line)?.[1] ?? []);
      return nodes.length > 0 ? { kind: 'node-pool', name: sortedList(nodes) } : undefined;
    }
    case 'bad-rollout': {
      const release = d.evidence.map(releaseIn).find((r) => r !== undefined);
      return release ? { kind: 'release', name: release } : undefined;
    }
    default:
      return undefined;
  }
}

/** A node pool or node selector in a scheduling message or a capacity line. */
function nodePoolIn(line: string): string | undefined {
  const label =
    /\b(?:cloud\.google\.com\/gke-nodepool|eks\.amazonaws\.com\/nodegroup|kubernetes\.azure\.com\/agentpool|agentpool|node-?pool)[=:]\s*([\w.-]+)/i.exec(line);
  if (label?.[1]) return label[1];
  const selector = /node ?selector[=:]?\s*\{?([\w./-]+=[\w.-]+)/i.exec(line);
  return selector?.[1];
}

/** The release of a bad rollout: its change-cause when the evidence has one, else the new images' tags. */
function releaseIn(line: string): string | undefined {
  const changeCause = /change-cause[=:]\s*"?([^";]+)"?/i.exec(line)?.[1];
  if (changeCause) return changeCause.trim();
  // diagnose.ts badRollout: "revision <n>: <image>, <image>; revision <m>: …".
  const images = /^revision \d+: ([^;]+);/.exec(line)?.[1];
  if (!images) return undefined;
  const tags = images.split(',').flatMap((image) => tagOf(image.trim()) ?? []);
  return tags.length > 0 ? sortedList(tags) : undefined;
}

function tagOf(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(colon + 1) : undefined;
}

function sortedList(items: string[]): string {
  return [...new Set(items.map((s) => s.trim()).filter(Boolean))].sort().join(',');
}
