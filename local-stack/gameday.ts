// `npm run gameday`: every sandbox scenario in turn through the real path, on
// the stack `npm start` runs (a fresh data directory of its own): break → the
// runbook's alert through the receiver's webhook → investigate → approve by
// policy (INCIDENT_AUTO_APPROVE='default=*') → apply → verify → a short monitor
// → resolve → follow-up; a scenario with no safe automatic fix must be handed
// over to people instead. Then the sandbox is healed and everything of the
// incident closed before the next. It prints a table and the exactly-once
// verdict (or one JSON document with --json) and exits non-zero if a scenario
// did not end as the runbook says or a change or message was not exactly once.
//   --chaos   SIGKILL the worker at points of each incident, restart Temporal
//   --faults  the sandbox's API fails 20% of calls (429/500/503), +200 ms each
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { FaultRule } from '../sandbox/index.js';
import { parseDuration } from '../workflows/units.js';
import { killBetween, planChaos, pointOrder, seededRandom, type ChaosEvent, type ChaosRecord } from './gameday/chaos.js';
import { checkMessages, checkWrites, readOutbox } from './gameday/exactly-once.js';
import { renderReport, type ChaosSummary, type GamedayReport } from './gameday/report.js';
import { runScenario, type ScenarioResult } from './gameday/scenario.js';
import { expectationOf, gamedayScenarioNames, type ScenarioExpectation } from './gameday/scenarios.js';
import { LocalStack, repoRoot } from './start.js';

const integer =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
const duration = (value: string): string => {
  if (parseDuration(value) === undefined) throw new InvalidArgumentError('expected a duration such as 30s or 2m');
  return value;
};
const scenarioList = (value: string): ScenarioExpectation[] =>
  value.split(',').map((name) => {
    const e = expectationOf(name.trim());
    if (!e) throw new InvalidArgumentError(`unknown scenario '${name}': use ${gamedayScenarioNames.join(', ')}`);
    return e;
  });

interface Options {
  scenarios?: ScenarioExpectation[];
  chaos?: boolean;
  killsPerScenario: number;
  temporalRestarts?: number;
  seed?: number;
  faults?: boolean;
  monitor: string;
  json?: boolean;
  basePort: number;
  dataDir?: string;
  scenarioTimeout: string;
}

const opts = new Command('npm run gameday --')
  .description('Run every sandbox scenario through the real incident path and check each change and message happened exactly once')
  .option('--scenarios <a,b>', `a subset, in this order (default: all: ${gamedayScenarioNames.join(',')})`, scenarioList)
  .option('--chaos', 'SIGKILL the worker at points of each incident and stop and restart the Temporal dev server mid-incident')
  .option('--kills-per-scenario <n>', 'worker kills per scenario with --chaos', integer(0, 20), 3)
  .option('--temporal-restarts <n>', 'Temporal dev server restarts over the run with --chaos (default: one per 4 scenarios, at least 1)', integer(0, 50))
  .option('--seed <n>', 'seed of the chaos plan (printed; the same seed plans the same kills)', integer(0, 2 ** 32 - 1))
  .option('--faults', "turn on the sandbox's API faults: 20% of reads and writes answer 429, 500 or 503, and every call takes 200 ms more")
  .option('--monitor <duration>', "each incident's monitor (the runbook's is 30m)", duration, '30s')
  .option('--scenario-timeout <duration>', 'give up on an incident that has not resolved or been handed over after this long', duration, '6m')
  .option('--json', 'print one JSON document (progress goes to stderr)')
  .option(
    '--base-port <port>',
    'ports used: Temporal, its UI, the sandbox, the receiver, the worker health and metrics (6 in a row)',
    integer(1024, 65_000),
    7340,
  )
  .option('--data-dir <dir>', 'state, outbox and logs (default: a new .data/gameday/<time>)')
  .parse()
  .opts<Options>();

/** 20% of calls fail (three statuses, each rule drawn on its own), and each call takes 200 ms more. */
function faultRules(): FaultRule[] {
  const each = 1 - Math.pow(0.8, 1 / 3);
  return [{ rate: 1, latencyMs: 200 }, ...([429, 500, 503] as const).map((status) => ({ rate: each, status }))];
}

/** Kills by the point they landed at (the first word of `landed`), in incident order. */
function countByPoint(records: ChaosRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const point of pointOrder) {
    const n = records.filter((c) => c.landed?.split(/[ :]/)[0] === point).length;
    if (n > 0) counts[point] = n;
  }
  return counts;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const progress = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  const scenarios = opts.scenarios ?? gamedayScenarioNames.map((n) => expectationOf(n) as ScenarioExpectation);
  const dataDir = resolve(opts.dataDir ?? join(repoRoot, '.data/gameday', startedAt.toISOString().replace(/[:.]/g, '-')));
  const monitorMs = parseDuration(opts.monitor) ?? 30_000;
  const base = opts.basePort;
  const local = new LocalStack({
    dataDir,
    ports: { temporal: base, ui: base + 1, sandbox: base + 2, receiver: base + 3, worker: base + 4, codec: base + 8 },
    autoApprove: true,
    // Each scenario is a drill of its own on the same service, broken again right after the
    // previous one was fixed: the governor's cooldown would (rightly) hand it to a person.
    workerEnv: { GOVERNOR_COOLDOWN: '1s' },
    monitor: opts.monitor,
    say: progress,
    supervisorSay: (line) => progress(`supervisor: ${line.trim()}`),
  });
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
    progress('\nstopping the game day and everything it started...');
    void local.stop().then(() => process.exit(130));
  });

  // Chaos plan, fixed up front from the seed.
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
  const random = seededRandom(seed);
  const restarts = opts.chaos ? Math.min(scenarios.length, opts.temporalRestarts ?? Math.max(1, Math.ceil(scenarios.length / 4))) : 0;
  const restartAt = new Set(Array.from({ length: restarts }, (_, i) => Math.floor(((i + 0.5) * scenarios.length) / restarts)));
  let restartCount = 0;
  const plans: ChaosEvent[][] = scenarios.map((s, i) =>
    opts.chaos
      ? planChaos(random, s.outcome, {
          kills: opts.killsPerScenario,
          // Stopped gracefully, then killed, in turn.
          ...(restartAt.has(i) ? { temporalRestart: restartCount++ % 2 === 0 ? ('SIGTERM' as const) : ('SIGKILL' as const) } : {}),
          monitorMs,
        })
      : [],
  );

  const results: ScenarioResult[] = [];
  try {
    progress(
      `game day: ${scenarios.map((s) => s.scenario).join(', ')}${opts.chaos ? ` with chaos (seed ${seed})` : ''}${opts.faults ? ' with API faults' : ''}; state and logs in ${dataDir}`,
    );
    const stack = await local.start();
    if (opts.faults) {
      stack.sandbox.setFaults(faultRules());
      progress('sandbox API faults on: 20% of calls answer 429/500/503, +200 ms latency');
    }
    const gaveUp = stack.group.gaveUp.then((reason) => {
      throw new Error(`the supervisor gave up: ${reason}`);
    });
    const timeoutMs = parseDuration(opts.scenarioTimeout) ?? 6 * 60_000;
    for (const [i, expectation] of scenarios.entries()) {
      results.push(await Promise.race([runScenario(stack, expectation, { timeoutMs, chaos: plans[i] ?? [], say: progress }), gaveUp]));
    }
    stack.sandbox.setFaults([]);

    const applied = results.flatMap((r) => r.applied);
    const writes = checkWrites(stack.sandbox.audit(), applied);
    const messages = checkMessages(readOutbox(stack.outboxDir));
    const records = results.flatMap((r) => r.chaos);
    // Evidence for each duplicate: the kill (if any) that fell between its first two copies.
    const killAt = (first?: string, second?: string) => {
      const kill = first && second ? killBetween(records, first, second) : undefined;
      return kill ? `${kill.target} ${kill.signal} at ${kill.at ?? '?'} (${kill.landed ?? kill.planned})` : undefined;
    };
    for (const d of messages.duplicates) {
      const kill = killAt(d.sentAt[0], d.sentAt[1]);
      if (kill) d.afterKill = kill;
    }
    for (const d of writes.duplicates) {
      const kill = killAt(d.at[0], d.at[1]);
      if (kill) d.afterKill = kill;
    }
    const fired = records.filter((c) => c.landed !== undefined);
    const workerKills = fired.filter((c) => c.target === 'worker').length;
    const chaos: ChaosSummary | null = opts.chaos
      ? {
          seed,
          killsPerScenario: opts.killsPerScenario,
          workerKills,
          temporalRestarts: fired.filter((c) => c.target === 'temporal').length,
          missed: records.length - fired.length,
          unplannedWorkerRestarts: Math.max(0, stack.worker.restarts - workerKills),
          byPoint: countByPoint(fired.filter((c) => c.target === 'worker')),
          records,
        }
      : null;
    const report: GamedayReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      dataDir,
      flags: { chaos: opts.chaos ?? false, faults: opts.faults ?? false, monitor: opts.monitor, scenarios: scenarios.map((s) => s.scenario) },
      scenarios: results,
      chaos,
      exactlyOnce: { writes, messages, ok: writes.ok && messages.ok },
      ok: results.every((r) => r.ok) && writes.ok && messages.ok,
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else progress(`\n${renderReport(report)}`);
    return report.ok ? 0 : 1;
  } catch (err) {
    if (interrupted) return 130;
    process.stderr.write(`game day failed: ${err instanceof Error ? err.message : String(err)}\n(see the logs in ${join(dataDir, 'logs')})\n`);
    return 1;
  } finally {
    await local.stop();
  }
}

void main().then((code) => process.exit(code));
