// The game day's report: a table per scenario, the chaos done, and the
// exactly-once verdict; or all of it as one JSON document.
import { table } from '../../client/cli/render.js';
import type { ChaosRecord } from './chaos.js';
import type { MessageCheck, WriteCheck } from './exactly-once.js';
import type { ScenarioResult } from './scenario.js';

export interface ChaosSummary {
  seed: number;
  killsPerScenario: number;
  workerKills: number;
  temporalRestarts: number;
  /** Planned kills that found nothing left to hit. */
  missed: number;
  /** Worker restarts the supervisor made that no kill of ours caused (it died on its own). */
  unplannedWorkerRestarts: number;
  byPoint: Record<string, number>;
  records: ChaosRecord[];
}

export interface GamedayReport {
  startedAt: string;
  finishedAt: string;
  dataDir: string;
  flags: { chaos: boolean; faults: boolean; monitor: string; scenarios: string[] };
  scenarios: ScenarioResult[];
  chaos: ChaosSummary | null;
  exactlyOnce: { writes: WriteCheck; messages: MessageCheck; ok: boolean };
  /** Every scenario recovered or was handed over as expected, and the exactly-once check passed. */
  ok: boolean;
}

const secs = (s: number | null) => (s === null ? '-' : `${s.toFixed(1)} s`);

export function renderReport(r: GamedayReport): string {
  const rows = r.scenarios.map((s) => [
    s.scenario,
    s.diagnosis ?? '-',
    s.actions.length ? s.actions.map(shortCommand).join('; ') : s.outcome === 'handed-over' ? 'handed over' : '-',
    secs(s.detectionSeconds),
    s.timeToMitigateSeconds !== null ? secs(s.timeToMitigateSeconds) : s.timeToHandOverSeconds !== null ? `(handover ${secs(s.timeToHandOverSeconds)})` : '-',
    secs(s.timeToResolveSeconds),
    `${s.ok ? 'ok' : 'FAILED'}: ${s.outcome}${s.outcome === 'handed-over' ? ' (escalated)' : ''}`,
  ]);
  const lines = [table(['SCENARIO', 'DIAGNOSIS', 'ACTION', 'DETECTION', 'TIME TO MITIGATE', 'TIME TO RESOLVE', 'OUTCOME'], rows), ''];
  for (const s of r.scenarios.filter((x) => x.problems.length)) lines.push(`${s.scenario}: ${s.problems.join('; ')}`);
  if (r.chaos) {
    const c = r.chaos;
    const points = Object.entries(c.byPoint)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ');
    lines.push(
      `chaos (seed ${c.seed}): ${c.workerKills} worker kills (SIGKILL; ${points || 'none'}), ${c.temporalRestarts} Temporal dev server restarts on its database${c.missed ? `, ${c.missed} planned kills found nothing left to hit` : ''}${c.unplannedWorkerRestarts ? `, ${c.unplannedWorkerRestarts} worker restarts not caused by a kill` : ''}`,
    );
  }
  const w = r.exactlyOnce.writes;
  const m = r.exactlyOnce.messages;
  lines.push(
    `exactly once, changes: ${w.applied} applied, ${w.realWrites} writes (${w.dryRuns} dry runs): ${w.duplicates.length} written twice, ${w.missing.length} never written, ${w.unkeyed.length} without a key${w.unclaimed.length ? `, ${w.unclaimed.length} written by an apply that did not complete` : ''}`,
    `exactly once, messages: ${m.messages} delivered (${m.statusUpdates} status updates, which repeat by design): ${m.duplicates.length} delivered twice${m.unparseable ? `, ${m.unparseable} cut short` : ''}`,
  );
  for (const d of w.duplicates)
    lines.push(`  written ${d.times} times: ${d.object} under ${d.idempotencyKey} at ${d.at.join(', ')}${d.afterKill ? `; between them: ${d.afterKill}` : ''}`);
  for (const d of w.missing) lines.push(`  applied but never written: ${d.command} (${d.idempotencyKey})`);
  for (const d of m.duplicates)
    lines.push(
      `  delivered ${d.times} times: ${d.channel} ${d.event}${d.level ? ` L${d.level}` : ''} "${d.summary}" at ${d.sentAt.join(', ')}${d.ids.length ? '' : ' (without a message id)'}${d.afterKill ? `; between them: ${d.afterKill}` : ''}`,
    );
  const good = r.scenarios.filter((s) => s.ok).length;
  lines.push(
    `game day: ${good}/${r.scenarios.length} scenarios recovered or handed over correctly; exactly-once ${r.exactlyOnce.ok ? 'held' : 'FAILED'}: ${r.ok ? 'PASS' : 'FAIL'}`,
  );
  return lines.join('\n');
}

/** `kubectl -n default rollout undo deployment/x --to-revision=2` → `rollout undo deployment/x --to-revision=2`. */
function shortCommand(command: string): string {
  return command.replace(/^kubectl\s+(-n\s+\S+\s+)?/, '').slice(0, 100);
}
