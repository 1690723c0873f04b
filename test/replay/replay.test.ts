// Replay: the recorded incident lifecycles of every release
// (test/replay/releases/<release>/*.json) must replay with the current workflow
// code, so a change that would break incidents still open on a running release
// fails here first, naming the release and the history. The guard is shown to be
// real: an unguarded change fails with a DeterminismViolationError, the same
// change behind patched() passes.
//
// Each release records its own folder once (npm run record:histories -- --release
// <version>); a folder stays while incidents started on that release may be open
// (a month, for follow-ups). See the README, "Replay corpus".
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../helpers/temporal.js';

const releasesDir = join(import.meta.dirname, 'releases');
const workflows = (path: string): string => new URL(path, import.meta.url).pathname;

interface Recorded {
  release: string;
  file: string;
  /** `<release>/<file>`: how a failure names it. */
  name: string;
  /** From the release's manifest.json: a history does not hold its workflow ID, and the workflow derives child IDs and idempotency keys from it. */
  workflowId: string | undefined;
  history: unknown;
}

interface Release {
  release: string;
  manifest: Record<string, string>;
  histories: Recorded[];
}

// Read when the file is collected: every release and history gets its own name in the report.
const releases: Release[] = readdirSync(releasesDir)
  .filter((d) => statSync(join(releasesDir, d)).isDirectory())
  .sort()
  .map((release) => {
    const dir = join(releasesDir, release);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, string>;
    const histories = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
      .sort()
      .map((file) => ({
        release,
        file,
        name: `${release}/${file}`,
        workflowId: manifest[file],
        history: JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown,
      }));
    return { release, manifest, histories };
  });
const corpus = releases.flatMap((r) => r.histories);
const incidents = corpus.filter((h) => h.file.endsWith('.incident.json'));

/** Replays `histories` one after another on one replay worker; `<release>/<file>: <error>` for each that fails. */
async function replayFailures(bundle: WorkflowBundleWithSourceMap, histories: Recorded[]): Promise<{ name: string; error: Error }[]> {
  const failures: { name: string; error: Error }[] = [];
  let i = 0;
  // Results come in the order of the histories (one at a time): the index names the file, as runs of one workflow share its ID.
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle },
    histories.map((h) => ({ workflowId: h.workflowId ?? h.file, history: h.history })),
  )) {
    const recorded = histories[i++];
    if (result.error && recorded) failures.push({ name: recorded.name, error: result.error });
  }
  expect(i, 'every history replayed').toBe(histories.length);
  return failures;
}

/** One line per failure: the core's own message (e.g. `[TMPRL1100] Nondeterminism error: ...`) rather than the SDK's wrapping of it. */
function line({ name, error }: { name: string; error: Error }): string {
  const core = /message: "((?:[^"\\]|\\.)*)"/.exec(error.message)?.[1]?.replace(/\\"/g, '"');
  return `${name}: ${error.name}: ${core ?? error.message}`;
}

describe('the replay corpus', () => {
  it('has releases', () => {
    expect(releases.map((r) => r.release)).not.toEqual([]);
  });

  it.each(releases.map((r) => [r.release, r] as const))(
    'release %s has histories of the incident and of the post-incident workflow, each in its manifest',
    (_, { manifest, histories }) => {
      expect(histories.filter((h) => h.file.endsWith('.incident.json'))).not.toEqual([]);
      expect(histories.filter((h) => h.file.endsWith('.post-incident.json'))).not.toEqual([]);
      expect(
        histories.filter((h) => !/\.(post-)?incident\.json$/.test(h.file)).map((h) => h.file),
        'named <lifecycle>.incident.json or <lifecycle>.post-incident.json',
      ).toEqual([]);
      expect(
        histories.filter((h) => h.workflowId === undefined).map((h) => h.file),
        'histories missing from manifest.json',
      ).toEqual([]);
      expect(
        Object.keys(manifest).filter((f) => !histories.some((h) => h.file === f)),
        'manifest.json entries without a file',
      ).toEqual([]);
    },
  );
});

// Each test bundles the workflows and replays every recorded history: CPU-bound, and on a
// loaded CI machine (two test files at once) one took over a minute; with release 0.5.0's
// histories in the corpus the patched() variant passed 240 s in a CI run. The time grows
// with the corpus: each release adds its histories.
describe('replay of every release', { timeout: 600_000 }, () => {
  it('replays every history with the current workflow code', async () => {
    const failures = await replayFailures(await workflowBundle(workflows('../../workflows/index.ts')), corpus);
    expect(failures.map(line)).toEqual([]);
  });

  it('fails every incident history with a DeterminismViolationError when an activity is inserted without patched()', async () => {
    const failures = await replayFailures(await workflowBundle(workflows('../fixtures/incompatible-workflows.ts')), incidents);
    expect(failures.map((f) => f.name)).toEqual(incidents.map((h) => h.name));
    for (const { name, error } of failures) {
      // The inserted activity meets the history's first timer, activity or (in runs since patch markers) marker: the SDK refuses to go on.
      expect(error, name).toBeInstanceOf(DeterminismViolationError);
      expect(error.message, name).toMatch(/Nondeterminism error: .*(Activity|Timer|patch marker)/);
    }
  });

  it('replays every incident history unchanged when the same change is guarded by patched()', async () => {
    const failures = await replayFailures(await workflowBundle(workflows('../fixtures/patched-workflows.ts')), incidents);
    expect(failures.map(line)).toEqual([]);
  });
});

// The remediation governor (workflows/governor.ts) lives as long as its cluster and moves to each new build:
// its recorded runs (test/workflows/governor.dev-server.test.ts writes one with RECORD_GOVERNOR_HISTORY) must replay too.
const governorDir = join(import.meta.dirname, 'governor');
const governorHistories: Recorded[] = readdirSync(governorDir)
  .filter((f) => f.endsWith('.governor.json'))
  .sort()
  .map((file) => ({
    release: 'governor',
    file,
    name: `governor/${file}`,
    workflowId: 'governor/recorded',
    history: JSON.parse(readFileSync(join(governorDir, file), 'utf8')) as unknown,
  }));

describe('replay of the remediation governor', () => {
  it('replays every recorded governor history with the current workflow code', async () => {
    expect(governorHistories).not.toEqual([]);
    const failures = await replayFailures(await workflowBundle(workflows('../../workflows/index.ts')), governorHistories);
    expect(failures.map(line)).toEqual([]);
  });
});
