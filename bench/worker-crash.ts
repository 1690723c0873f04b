// Benchmark: how long a dead worker holds an incident back. The worker running
// an investigation read (slowed by a latency fault) is killed with SIGKILL, and
//   restart: a new worker process starts at once (a pod replaced), or
//   standby: a second worker is already running (a deployment of 2 replicas);
// prints, per run, the seconds from the kill until the read is retried and
// until the workflow acts on its result (the investigation done), and from the
// new worker's start and readiness (the target: within 10 s of its start); and
// the retried attempt and what ended the killed one.
// Real processes on 127.0.0.1: the dev server, the sandbox, `tsx worker/main.ts`.
// It asserts nothing.
//   npm run bench -- worker-crash [--runs N] [--mode restart|standby|both]
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CrashDrill, slowRead, type CrashOutcome } from '../test/worker/crash-drill.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, mode: { type: 'string', default: 'both' } }, allowPositionals: true });
const runs = Math.max(1, Number(values.runs) || 1);
type Mode = 'restart' | 'standby';
const isMode = (m: string): m is Mode => m === 'restart' || m === 'standby';
const modeArg = values.mode;
if (modeArg !== 'both' && !isMode(modeArg)) {
  process.stderr.write(`--mode: expected restart, standby or both, not '${modeArg}'\n`);
  process.exit(2);
}
const modes: Mode[] = isMode(modeArg) ? [modeArg] : ['restart', 'standby'];

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const drill = await CrashDrill.start({ services: runs * modes.length });
const columns = [
  'mode   ',
  'run',
  'kill→read retried',
  'kill→workflow resumed',
  'new worker start→resumed',
  'new worker ready→resumed',
  'attempt',
  'killed attempt ended by',
];
const line = (cells: string[]) => process.stdout.write(`${cells.map((c, i) => c.padStart(columns[i]?.length ?? 0)).join('  ')}\n`);
try {
  process.stdout.write(
    `SIGKILL of the worker running ${slowRead.activity} (a latency fault keeps it in flight), seconds until the read is retried and the workflow acts on it:\n`,
  );
  line(columns);
  const services = drill.services;
  for (const mode of modes) {
    const figures: Record<'retried' | 'resumed' | 'fromStart' | 'fromReady', number[]> = { retried: [], resumed: [], fromStart: [], fromReady: [] };
    for (let run = 1; run <= runs; run++) {
      const service = services.shift();
      if (!service) throw new Error('out of services');
      const wanted = mode === 'standby' ? 2 : 1;
      while (drill.liveWorkers().length < wanted) await drill.spawnWorker(`${mode}-${run}-${drill.liveWorkers().length}`);
      let o: CrashOutcome;
      try {
        o = await drill.crash(service, mode);
      } catch (err) {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${drill.workerOutput()}\n`);
        throw err;
      }
      figures.retried.push(o.retriedAt - o.killedAt);
      figures.resumed.push(o.resumedAt - o.killedAt);
      // In standby mode the successor ran before the kill: only a restart has a new worker to time from.
      if (mode === 'restart') figures.fromStart.push(o.resumedAt - o.successor.spawnedAt);
      if (mode === 'restart' && o.successor.readyAt !== undefined) figures.fromReady.push(o.resumedAt - o.successor.readyAt);
      const last = (xs: number[], ran: boolean) => (ran ? seconds(xs.at(-1)) : '-');
      line([
        mode,
        String(run),
        last(figures.retried, true),
        last(figures.resumed, true),
        last(figures.fromStart, mode === 'restart'),
        last(figures.fromReady, mode === 'restart'),
        String(o.retried.attempt),
        o.retried.lastFailure?.timeoutType ?? o.retried.lastFailure?.message ?? '(not retried)',
      ]);
    }
    const p50 = (xs: number[]) => (xs.length ? seconds(median(xs)) : '-');
    line([mode, 'p50', p50(figures.retried), p50(figures.resumed), p50(figures.fromStart), p50(figures.fromReady)]);
  }
} finally {
  await drill.close();
}
