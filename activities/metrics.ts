// The service's Prometheus text metrics, reduced to what the monitor samples:
// request and 5xx counts and the latency histogram, so that error rate and p99
// can be computed over the window between two samples.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (comments and malformed lines are skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) continue;
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', value = ''] of labelText.matchAll(labelPair)) labels[key] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (!Number.isNaN(value)) samples.push({ name, labels, value });
  }
  return samples;
}

/** Counters the monitor compares between samples. */
export interface TrafficCounters {
  requests: number;
  errors: number;
  /** Cumulative latency buckets in milliseconds: [upper bound, count], ascending. */
  buckets: [number, number][];
}

const statusLabels = ['code', 'status', 'status_code'];

/**
 * Requests from the `*_requests_total` counter (5xx by its code/status label);
 * latency from a `*duration*`/`*latency*` histogram in seconds or milliseconds.
 */
export function trafficCounters(samples: Sample[]): TrafficCounters {
  let requests = 0;
  let errors = 0;
  const requestCounters = samples.filter((s) => s.name.endsWith('_requests_total'));
  // Prefer the HTTP server counter when the service exposes several.
  const httpName = requestCounters.find((s) => s.name === 'http_requests_total')?.name ?? requestCounters[0]?.name;
  for (const sample of requestCounters.filter((s) => s.name === httpName)) {
    requests += sample.value;
    const code = statusLabels.map((l) => sample.labels[l]).find((v) => v !== undefined) ?? '';
    if (/^5\d\d$|^5xx$/i.test(code)) errors += sample.value;
  }
  const bucketSamples = samples.filter((s) => s.name.endsWith('_bucket') && /duration|latency/.test(s.name) && s.labels.le !== undefined);
  const histogram = bucketSamples[0]?.name;
  const scale = histogram && /_seconds_bucket$/.test(histogram) ? 1000 : 1;
  const byBound = new Map<number, number>();
  for (const sample of bucketSamples.filter((s) => s.name === histogram)) {
    const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le) * scale;
    byBound.set(le, (byBound.get(le) ?? 0) + sample.value);
  }
  const buckets = [...byBound.entries()].sort((a, b) => a[0] - b[0]);
  return { requests, errors, buckets };
}

/** The counters accrued since `previous`; the whole counters when they were reset in between (a restart). */
export function sinceLast(current: TrafficCounters, previous: TrafficCounters | undefined): TrafficCounters {
  if (!previous || current.requests < previous.requests || current.errors < previous.errors) return current;
  const before = new Map(previous.buckets);
  return {
    requests: current.requests - previous.requests,
    errors: current.errors - previous.errors,
    buckets: current.buckets.map(([le, count]) => [le, Math.max(0, count - (before.get(le) ?? 0))]),
  };
}

/** Counters of several pods as one service's. */
export function sumCounters(list: TrafficCounters[]): TrafficCounters {
  const buckets = new Map<number, number>();
  for (const counters of list) for (const [le, count] of counters.buckets) buckets.set(le, (buckets.get(le) ?? 0) + count);
  return {
    requests: list.reduce((sum, c) => sum + c.requests, 0),
    errors: list.reduce((sum, c) => sum + c.errors, 0),
    buckets: [...buckets].sort((a, b) => a[0] - b[0]),
  };
}

export function errorRate(window: TrafficCounters): number {
  return window.requests > 0 ? window.errors / window.requests : 0;
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the quantile. */
export function quantileMs(window: TrafficCounters, q: number): number | undefined {
  const total = window.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of window.buckets) {
    if (count >= rank) {
      // The quantile falls in the +Inf bucket: the best answer is the highest finite bound.
      if (bound === Infinity) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** A gauge's value summed over its series; undefined when the service does not expose it. */
export function gaugeSum(samples: Sample[], name: string): number | undefined {
  const series = samples.filter((s) => s.name === name && Number.isFinite(s.value));
  return series.length === 0 ? undefined : series.reduce((sum, s) => sum + s.value, 0);
}
