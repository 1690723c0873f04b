// Kubernetes resource quantities ("250m", "512Mi", "1.5Gi", 2): parsing to base
// units (cores, bytes) and the canonical forms the API server prints.
// Its own parser on purpose: the sandbox stands for the API server and imports nothing from the worker it tests.

const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const pattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The value in base units (cores for cpu, bytes for memory), or undefined when it is not a quantity. */
export function parseQuantity(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const match = pattern.exec(value.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  if (/^[eE]/.test(suffix)) return number * 10 ** Number(suffix.slice(1));
  const factor = suffixes[suffix];
  return factor === undefined ? undefined : number * factor;
}

/** Millicores from a cpu quantity; 0 when absent or invalid. */
export function milliCpu(value: string | number | undefined): number {
  return value === undefined ? 0 : Math.round((parseQuantity(value) ?? 0) * 1000);
}

/** Bytes from a memory quantity; 0 when absent or invalid. */
export function bytes(value: string | number | undefined): number {
  return value === undefined ? 0 : Math.round(parseQuantity(value) ?? 0);
}

/** Canonical cpu string: "2" for whole cores, "250m" otherwise. */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Canonical memory string with the largest binary suffix that divides it exactly ("1536Mi"). */
export function formatBytes(value: number): string {
  if (value === 0) return '0';
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const factor = suffixes[suffix] ?? 1;
    if (value % factor === 0) return `${value / factor}${suffix}`;
  }
  return String(value);
}

export const Mi = 2 ** 20;
export const Gi = 2 ** 30;
