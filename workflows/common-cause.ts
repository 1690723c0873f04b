// What many incidents can have in common: the same dependency down, the same node
// pool full, the same release rolled out. Services whose diagnoses share one are
// folded under one major incident (workflows/major-incident.ts), which pages once.
//
// The diagnosis names the cause (workflows/diagnose.ts, from the findings, never
// from its own text); this module turns it into the key incidents are matched on.
// Pure, deterministic.
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

type DiagnosisLike = Pick<Diagnosis, 'commonCause'>;

const labels: Record<CommonCauseKind, (name: string) => string> = {
  dependency: (name) => `dependency ${name} unreachable`,
  'node-pool': (name) => `node pool ${name} full`,
  release: (name) => `release ${name}`,
};

/** The cause this diagnosis may share with other services, or undefined when it is the service's own. */
export function commonCause(diagnosis: DiagnosisLike): CommonCause | undefined {
  const named = diagnosis.commonCause;
  if (!named || named.name.trim() === '') return undefined;
  const name = named.name.trim().slice(0, 200);
  return { key: `${named.kind}:${name}`, label: labels[named.kind](name) };
}
