// Label and field selectors, as in list/watch query strings and in
// deployment/service specs.
import { badRequest } from './errors.js';
import type { KObject, LabelSelectorSpec } from './types.js';

type Requirement =
  { op: 'eq' | 'neq'; key: string; value: string } | { op: 'in' | 'notin'; key: string; values: string[] } | { op: 'exists' | 'notexists'; key: string };

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

const matchAll: LabelMatcher = () => true;

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const value = labels[req.key];
  switch (req.op) {
    case 'eq':
      return value === req.value;
    case 'neq':
      return value !== req.value;
    case 'in':
      return value !== undefined && req.values.includes(value);
    case 'notin':
      return value === undefined || !req.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'notexists':
      return value === undefined;
  }
}

function matcherOf(requirements: Requirement[]): LabelMatcher {
  if (requirements.length === 0) return matchAll;
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

/** Splits on commas that are not inside "in (a,b)" parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

export interface LabelQuery {
  matches: LabelMatcher;
  /** One "key=value" term of the selector, if it has one: lets the store start from its label index. */
  equality?: readonly [string, string];
}

/** Parses a labelSelector query ("app=x,tier!=web,env in (a,b),!legacy"). */
export function parseLabelSelector(text: string | null): LabelQuery {
  if (!text) return { matches: matchAll };
  const requirements: Requirement[] = [];
  for (const term of splitTerms(text)) {
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const values = (m[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      requirements.push({ op: m[2] as 'in' | 'notin', key: m[1] ?? '', values });
    } else if ((m = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(term))) {
      requirements.push({ op: m[2] === '!=' ? 'neq' : 'eq', key: m[1] ?? '', value: m[3] ?? '' });
    } else if ((m = /^!\s*([^\s!=]+)$/.exec(term))) {
      requirements.push({ op: 'notexists', key: m[1] ?? '' });
    } else if ((m = /^([^\s!=(),]+)$/.exec(term))) {
      requirements.push({ op: 'exists', key: m[1] ?? '' });
    } else {
      throw badRequest(`unable to parse requirement: found '${term}', expected: identifier or '=', '!=', 'in', 'notin'`);
    }
  }
  const eq = requirements.find((r) => r.op === 'eq');
  return { matches: matcherOf(requirements), ...(eq?.op === 'eq' ? { equality: [eq.key, eq.value] as const } : {}) };
}

/** A matcher for a service's map selector; an empty selector selects nothing, as for services. */
export function mapSelectorMatcher(selector: Record<string, string> | undefined): LabelMatcher {
  const entries = Object.entries(selector ?? {});
  if (entries.length === 0) return () => false;
  return (labels) => entries.every(([k, v]) => labels?.[k] === v);
}

/** "app=x,tier=y": a service's map selector as kubectl prints it. */
export function formatMapSelector(selector: Record<string, string> | undefined): string {
  const parts = Object.entries(selector ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(',') : '<none>';
}

/** A metav1.LabelSelector as metav1.FormatLabelSelector prints it. */
export function formatSelector(selector: LabelSelectorSpec | undefined): string {
  if (!selector) return '<none>';
  const labels = formatMapSelector(selector.matchLabels);
  const parts = labels === '<none>' ? [] : [labels];
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.length > 0 ? parts.join(',') : '<none>';
}

export type FieldMatcher = (object: KObject) => boolean;

// Fields each resource can be selected by, as the API server registers them
// (metadata.name and metadata.namespace work everywhere).
const selectableFields: Record<string, readonly string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  secrets: ['type'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
  replicasets: ['status.replicas'],
};

function fieldValue(object: KObject, path: string): string {
  if (path === 'source') return (object as { source?: { component?: string } }).source?.component ?? '';
  let value: unknown = object;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Parses a fieldSelector query ("metadata.name=x,status.phase!=Failed") for a resource. */
export function parseFieldSelector(text: string | null, plural: string): FieldMatcher {
  if (!text) return () => true;
  const allowed = ['metadata.name', 'metadata.namespace', ...(selectableFields[plural] ?? [])];
  const terms = splitTerms(text).map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = (m[1] ?? '').trim();
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: m[2] === '!=', value: (m[3] ?? '').trim() };
  });
  return (object) => terms.every((t) => (fieldValue(object, t.field) === t.value) !== t.negate);
}
