// Runbook step 2: `kubectl logs -l app=X --tail=N`, `--previous`, and
// `grep -i "error\|exception\|fatal"`: counts of each pattern and the last
// matching lines, masked (secret values the pods know, plus secret shapes).
// For the root cause analysis, the same read (`--since=1h`) kept as the
// runbook's `grep -B5 -A5 "ERROR\|FATAL"`: blocks of context, redacted, bounded.
import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { LogFindingsSchema, logExcerptBounds, type LogExcerpt, type LogFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { callOptional } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { isPodReady, listPods, livePods, podRestarts, readDeployment } from './kube/objects.js';
import type { Redactor } from './redact.js';
import { truncate } from './redact.js';
import { readPodSecrets } from './secrets.js';
import { FailureTypes } from './types.js';

const maxPods = 10;
const maxTailLines = 1000;
const maxLines = 20;
const maxLineLength = 500;
const matching = /error|exception|fatal/i;

interface Stream {
  pod: string;
  previous: boolean;
  lines: string[];
}

/**
 * One container's log; undefined when there is none to read (the container is
 * still waiting to start, or has no previous instance: the API answers 400).
 */
async function readLog(
  k: KubeClients,
  namespace: string,
  pod: string,
  container: string,
  options: { previous: boolean; tailLines: number; sinceSeconds?: number | undefined },
): Promise<string | undefined> {
  try {
    const text = await callOptional(k, { verb: 'get', resource: 'pods/log', name: pod, namespace }, () =>
      k.core.readNamespacedPodLog({
        name: pod,
        namespace,
        container,
        previous: options.previous,
        tailLines: options.tailLines,
        sinceSeconds: options.sinceSeconds,
      }),
    );
    return typeof text === 'string' || text === undefined ? text : JSON.stringify(text);
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === FailureTypes.Invalid) return undefined;
    throw err;
  }
}

function podStreams(
  k: KubeClients,
  namespace: string,
  pod: V1Pod,
  options: { tailLines: number; sinceSeconds?: number | undefined },
): Promise<Stream | undefined>[] {
  const name = pod.metadata?.name ?? '';
  // A pod on no node has run nothing: the API server answers an empty body with no content type.
  if (!pod.spec?.nodeName) return [];
  return (pod.spec?.containers ?? []).flatMap((container) => {
    const status = pod.status?.containerStatuses?.find((s) => s.name === container.name);
    const restarted = (status?.restartCount ?? 0) > 0 || status?.lastState?.terminated !== undefined;
    const read = async (previous: boolean): Promise<Stream | undefined> => {
      const text = await readLog(k, namespace, name, container.name, { ...options, previous });
      return text === undefined ? undefined : { pod: name, previous, lines: text.split('\n').filter((line) => line.trim() !== '') };
    };
    // Previous first: a crash-looping container says why it died in its previous instance.
    return restarted ? [read(true), read(false)] : [read(false)];
  });
}

/** The last matching lines, taken evenly from the end of every stream, in stream order. */
function lastMatches(streams: Stream[], redactor: Redactor): LogFindings['lastErrorLines'] {
  const matches = streams.map((s) => s.lines.filter((line) => matching.test(line)));
  const taken = matches.map(() => 0);
  for (let total = 0, progress = true; total < maxLines && progress;) {
    progress = false;
    matches.forEach((lines, i) => {
      if (total < maxLines && (taken[i] ?? 0) < lines.length) {
        taken[i] = (taken[i] ?? 0) + 1;
        total++;
        progress = true;
      }
    });
  }
  return streams.flatMap((stream, i) =>
    (matches[i] ?? []).slice((matches[i]?.length ?? 0) - (taken[i] ?? 0)).map((line) => ({
      pod: stream.pod,
      previous: stream.previous,
      line: truncate(redactor.text(line), maxLineLength),
    })),
  );
}

const rcaMatching = /ERROR|FATAL/;

/**
 * `grep -B<n> -A<n> "ERROR\|FATAL"` over one log: the line ranges [from, to] of
 * context around each match, overlapping or touching ranges merged, as grep does.
 */
export function contextRanges(lines: readonly string[], context: number = logExcerptBounds.context): [number, number][] {
  const ranges: [number, number][] = [];
  lines.forEach((line, i) => {
    if (!rcaMatching.test(line)) return;
    const from = Math.max(0, i - context);
    const to = Math.min(lines.length - 1, i + context);
    const last = ranges.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else ranges.push([from, to]);
  });
  return ranges;
}

/**
 * The RCA excerpts: the latest blocks, taken evenly from the end of every
 * stream (a crash-looping pod's previous container says why it died), each cut
 * to its last lines, every line redacted and cut, the whole within maxChars.
 */
export function rcaExcerpts(streams: { pod: string; previous: boolean; lines: string[] }[], redactor: Redactor): LogExcerpt[] {
  const { maxBlocks, maxBlockLines, maxLineLength, maxChars } = logExcerptBounds;
  const perStream = streams.map((s) => contextRanges(s.lines));
  const taken = perStream.map(() => 0);
  for (let total = 0, progress = true; total < maxBlocks && progress;) {
    progress = false;
    perStream.forEach((ranges, i) => {
      if (total < maxBlocks && (taken[i] ?? 0) < ranges.length) {
        taken[i] = (taken[i] ?? 0) + 1;
        total++;
        progress = true;
      }
    });
  }
  const excerpts: LogExcerpt[] = [];
  let chars = 0;
  streams.forEach((stream, i) => {
    const ranges = perStream[i] ?? [];
    for (const [from, to] of ranges.slice(ranges.length - (taken[i] ?? 0))) {
      const start = Math.max(from, to - maxBlockLines + 1);
      const lines = stream.lines.slice(start, to + 1).map((line) => truncate(redactor.text(line), maxLineLength));
      const size = lines.reduce((sum, line) => sum + line.length + 1, 0);
      if (chars + size > maxChars) return;
      chars += size;
      excerpts.push({ pod: stream.pod, previous: stream.previous, lines, ...(start > from ? { omitted: start - from } : {}) });
    }
  });
  return excerpts;
}

export async function collectLogs(deps: ActivityDeps, service: ServiceRef, options: { tailLines: number; sinceSeconds?: number }): Promise<LogFindings> {
  const k = deps.kube.clients(service.cluster);
  const deployment = await readDeployment(k, service);
  if (!deployment) return { errorCount: 0, exceptionCount: 0, fatalCount: 0, lastErrorLines: [] };
  const [pods, { redactor }] = await Promise.all([
    listPods(k, service.namespace, deployment),
    readPodSecrets(k, service.namespace, deployment.spec?.template?.spec),
  ]);
  const tail = { tailLines: Math.min(Math.max(1, options.tailLines), maxTailLines), sinceSeconds: options.sinceSeconds };
  // Unhealthy pods first: with many replicas, the bound keeps the ones that show the failure.
  const chosen = livePods(pods)
    .sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || podRestarts(b) - podRestarts(a))
    .slice(0, maxPods);
  const streams = (await Promise.all(chosen.flatMap((pod) => podStreams(k, service.namespace, pod, tail)))).filter((s) => s !== undefined);
  const lines = streams.flatMap((s) => s.lines);
  const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length;
  return LogFindingsSchema.parse({
    errorCount: count(/error/i),
    exceptionCount: count(/exception/i),
    fatalCount: count(/fatal/i),
    lastErrorLines: lastMatches(streams, redactor),
    contextExcerpts: rcaExcerpts(streams, redactor),
  });
}
