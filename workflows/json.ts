// Canonical JSON, pure (the workflows compare plans with it, the activities
// compare pod templates): the one implementation outside the sandbox, which keeps
// its own because it stands for the API server and imports nothing of ours.

/**
 * JSON with every object's keys sorted, and like JSON.stringify without
 * undefined members: two values that mean the same give the same text.
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  ) as string | undefined;
  return text ?? 'undefined';
}
