// Kubernetes quantities and human durations, as pure functions: the plan
// doubles a memory limit under a ceiling, and the input takes durations such as
// "15m" or "30d". Both must give the same answer on every replay, so no Intl and
// no locale. One parser per grammar, for every reader: the workflows, the
// activities (activities/quantity.ts), the worker's and the client's
// configuration and the CLI import them from here, so what one accepts the others
// accept. (The sandbox keeps its own in sandbox/quantity.ts: it stands for the API
// server and imports nothing from the worker it is there to test.)

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/**
 * Any Kubernetes quantity (apimachinery's resource.Quantity: "500m", "2", "1.5Gi", "1e3")
 * in base units (cores, bytes), or undefined when it is not one. The activities use it
 * for node allocation, usage and guardrails.
 */
export function parseQuantity(quantity: string): number | undefined {
  const match = quantityPattern.exec(quantity.trim());
  if (!match) return undefined;
  const [, number = '0', exponent, suffix = ''] = match;
  if (exponent) return Number(`${number}${exponent}`);
  return Number(number) * (binary[suffix] ?? decimal[suffix] ?? 1);
}

/**
 * Bytes of a memory quantity: any Kubernetes quantity ("512Mi", "4G", "1.5Gi",
 * "1073741824", "1e9") that is not negative, rounded to whole bytes; undefined
 * otherwise. The same grammar as parseQuantity, read as bytes.
 */
export function parseMemory(quantity: string): number | undefined {
  const value = parseQuantity(quantity);
  return value === undefined || value < 0 ? undefined : Math.round(value);
}

/** The shortest exact binary form ("512Mi", "4Gi"), falling back to bytes. */
export function formatMemory(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const factor = binary[unit] ?? 1;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/**
 * Milliseconds of "90s", "15m", "24h", "7d"; undefined when the text is not a
 * duration. The one reader of durations (workflow input, client configuration,
 * CLI options): check with it, not with a pattern of your own.
 */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (durationUnits[match[2] ?? 'ms'] ?? 1));
}

/** "15m", "1h 30m", "30d": for timer summaries and reports. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, seconds] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`);
      rest %= seconds;
    }
  }
  return parts.slice(0, 2).join(' ');
}

/** ISO-8601 of a workflow-clock instant (Date.now() in a workflow is the deterministic clock). */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "10:15:00Z" for the current-details view: the day is in the header already. */
export function clock(ms: number): string {
  return `${iso(ms).slice(11, 19)}Z`;
}

/**
 * The next time on a cadence of `interval` from `due` that is after `now`: a
 * timer that fired late (a worker or Temporal outage) skips what it missed
 * instead of firing once per missed interval.
 */
export function nextOnCadence(due: number, now: number, interval: number): number {
  const next = due + interval;
  return next > now ? next : next + Math.ceil((now - next + 1) / interval) * interval;
}
