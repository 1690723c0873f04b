// The one redaction module: every string an activity returns, logs, throws or
// sends (findings, log lines, error messages, notifications, reports) passes
// through it. Secret values are masked by shape (bearer tokens, key=value with
// a secret-looking key, sk- keys, JWTs, URL credentials, long high-entropy
// tokens) and by value, for literals the caller knows to be secret (env values
// whose variable name looks secret, values of the secrets the pods mount).

export const MASK = '***';

/** Variable or key names whose values are secrets: API_KEY, DB_PASSWORD, authToken, private-key, ... */
const secretName =
  /(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credential|auth|session|cookie|signature|routing[-_]?key|webhook)/i;

export function looksSecretName(name: string): boolean {
  return secretName.test(name);
}

// Patterns in the order they apply. Each keeps the part that says what was there
// (the key, the scheme) and masks the value, so a line stays useful to a human.
const patterns: [RegExp, string][] = [
  // Authorization: Bearer xxx / Basic xxx
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${MASK}`],
  // key=value, key: value, "key": "value" where the key looks secret (api_key=..., password: ..., "token":"...")
  [
    /(["']?[A-Za-z0-9_.-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credential|auth|session|cookie|signature|routing[-_]?key)[A-Za-z0-9_.-]*["']?\s*[:=]\s*)(["']?)(?!\*\*\*)[^\s"',;&}]+/gi,
    `$1$2${MASK}`,
  ],
  // Provider keys: sk-..., sk-ant-..., ghp_..., xoxb-..., AKIA...
  [/\bsk-[A-Za-z0-9_-]{6,}/g, `sk-${MASK}`],
  [/\b(gh[pousr]_|xox[abpr]-|glpat-)[A-Za-z0-9_-]{8,}/g, `$1${MASK}`],
  [/\bAKIA[0-9A-Z]{16}\b/g, MASK],
  // JWTs
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, MASK],
  // Credentials in URLs: scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${MASK}@`],
];

/** Runs of token characters long enough to be a key; judged by highEntropy(). */
const tokenRun = /[A-Za-z0-9+/=_-]{24,}/g;

/**
 * Mixed-case-and-digit runs with high Shannon entropy are keys, not words: pod
 * names, image digests and UUIDs (lower case, hex) are left alone.
 */
function highEntropy(run: string): boolean {
  if (!/[a-z]/.test(run) || !/[A-Z]/.test(run) || !/[0-9]/.test(run)) return false;
  const counts = new Map<string, number>();
  for (const ch of run) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / run.length;
    bits -= p * Math.log2(p);
  }
  return bits >= 3.5;
}

export interface Redactor {
  /** Masks secrets in free text (log lines, messages, bodies). */
  text(value: string): string;
  /** A value stored under a key: masked whole when the key looks secret, else as text. */
  value(key: string, value: string): string;
  /** The same redactor that also masks these literal values wherever they appear. */
  withLiterals(literals: Iterable<string>): Redactor;
}

/** Literals shorter than this are not worth masking (and would shred ordinary text). */
const minLiteralLength = 4;

export function createRedactor(literals: Iterable<string> = []): Redactor {
  // Longest first, so a secret that contains another is masked whole.
  const known = [...new Set([...literals].filter((l) => l.length >= minLiteralLength))].sort((a, b) => b.length - a.length);
  const text = (value: string): string => {
    let out = value;
    for (const literal of known) out = out.split(literal).join(MASK);
    for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
    return out.replace(tokenRun, (run) => (highEntropy(run) ? MASK : run));
  };
  return {
    text,
    value: (key, value) => (looksSecretName(key) && value !== '' ? MASK : text(value)),
    withLiterals: (more) => createRedactor([...known, ...more]),
  };
}

/** The redactor with no known literals: patterns only. */
export const redact = createRedactor();

/** Cuts text to at most `max` characters, marking the cut. */
export function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
