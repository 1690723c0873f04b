// Emergency option 3 (LOG_LEVEL=DEBUG and restart) is a diagnostic aid, not a fix:
// left in place, the next incident finds the config map drifted from what was
// applied. The values it overwrote are noted when it is planned (from the findings
// it was planned on) and put back when the incident ends, by an action of its own
// that goes through the same path as every mutation (dry-run, apply by key, verify).
import type { Findings, MitigationAction, ServiceRef } from './domain.js';
import type { PlanStep } from './plan.js';
import type { ActionRecord } from './records.js';
import { mutationCommand } from './mitigations.js';

/** What the config map held, before `action`, for the keys it writes (null: absent); undefined when unknown. */
export function overwrittenValues(action: MitigationAction, findings: Findings): Record<string, string | null> | undefined {
  if (action.kind !== 'patch-config-map') return undefined;
  const configMap = findings.config.configMaps.find((c) => c.name === action.name);
  if (!configMap) return undefined;
  return Object.fromEntries(Object.keys(action.data).map((key) => [key, configMap.data[key] ?? null]));
}

/** Applied actions whose overwritten values are not put back yet (no action restores them). */
export function pendingRestores(actions: readonly ActionRecord[]): ActionRecord[] {
  return actions.filter((a) => a.overwrites !== undefined && a.appliedAt !== undefined && !actions.some((r) => r.restoresAction === a.n));
}

/** The step that puts back what `original` overwrote: its keys' earlier values, or their removal. */
export function restoreStep(original: ActionRecord, service: ServiceRef, now: string): Extract<PlanStep, { kind: 'mitigate' }> | undefined {
  if (original.action.kind !== 'patch-config-map' || !original.overwrites) return undefined;
  const entries = Object.entries(original.overwrites);
  const data = Object.fromEntries(entries.flatMap(([key, value]) => (value === null ? [] : [[key, value]])));
  const remove = entries.flatMap(([key, value]) => (value === null ? [key] : []));
  const action: MitigationAction = { kind: 'patch-config-map', name: original.action.name, data, ...(remove.length ? { remove } : {}), restartedAt: now };
  const keys = entries.map(([key]) => key).join(', ');
  return {
    kind: 'mitigate',
    action,
    command: mutationCommand(service, action),
    why: `put ${keys} back as before #${original.n} (a diagnostic change, not a fix: left, it is config drift)`,
    approval: 'auto',
  };
}
