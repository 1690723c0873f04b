// Incident histories as Temporal stores them, with the history codec on the
// worker and the client: every payload the server holds is ciphertext (the
// runbook's findings and the proposed command appear in no stored byte), the
// `incident` CLI with the keys shows the incident in clear and without them says
// which key it needs; after a key rotation the open incident goes on, its old
// payloads still open, and new ones are sealed with the new key.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { HistoryEncryptionCodec, historyDataConverter } from '../../codec/encryption-codec.js';
import { newHistoryKey, parseHistoryKeys } from '../../codec/history-keys.js';
import { acknowledgeSignal, decideUpdate } from '../../workflows/messages.js';
import { eventually, incidentWorkflowsPath, repoRoot, startIncidentWorker, timeSkippingEnv, workflowBundle, type RunningWorker } from '../helpers/temporal.js';
import { FakeFleet, type FakeCluster } from '../fixtures/fake-cluster.js';
import { openScenario, statusOf, waitForStatus, type IncidentHandle } from '../fixtures/incident-driver.js';
import { quietlyTerminate } from '../fixtures/time-skipping-suite.js';
import { metadataText, payloadsIn, rawHistory } from '../helpers/history-payloads.js';

const k1 = newHistoryKey('k1');
const k2 = newHistoryKey('k2');
const before = historyDataConverter(parseHistoryKeys(k1));
/** After the rotation: k2 seals, k1 still opens. */
const after = historyDataConverter(parseHistoryKeys(`${k2},${k1}`));
const fleet = new FakeFleet();
let env: TestWorkflowEnvironment;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  // With keys, the worker's bundle carries the failure converter that seals failure messages.
  await workflowBundle(incidentWorkflowsPath, before.failureConverterPath);
  env = await timeSkippingEnv({ dataConverter: before });
  // No sticky queues: the rotation test replaces the worker mid-incident (see startIncidentWorker).
  worker = await startIncidentWorker(env, fleet.activities, { dataConverter: before, maxCachedWorkflows: 0 });
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

const history = (workflowId: string) => rawHistory(env.connection, workflowId);

function cli(keys: string | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Run outside the checkout: there the CLI would fall back to the local stack's .data/history-keys.
  const cwd = mkdtempSync(join(tmpdir(), 'incident-cli-'));
  const environment = { ...process.env, TEMPORAL_ADDRESS: env.address, INCIDENT_HISTORY_KEYS: keys ?? '', INCIDENT_HISTORY_KEYS_FILE: '' };
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin/incident.js'), ...args], { cwd, env: environment }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Awaiting approval, and the release's major incident has answered: its majorRole signal is
 * sealed by the worker that sent it and lands in this history when the server delivers it,
 * so a worker replaced before the answer would see the old worker's payload arrive after it.
 */
const settled = (s: Awaited<ReturnType<typeof statusOf>>): boolean => s.pendingApproval?.action === 1 && s.major !== undefined;

async function awaitingApproval(): Promise<{ handle: IncidentHandle; cluster: FakeCluster }> {
  const { handle, cluster } = await openScenario(env, fleet, 'bad-rollout', {}, { approvers: ['alice'] });
  await waitForStatus(handle, settled, 'the rollback to await approval and the major incident to answer');
  return { handle, cluster };
}

describe('encrypted incident history', () => {
  it('stores every payload as ciphertext; the CLI with the key shows the incident in clear, without it says what to set', async () => {
    const { handle } = await awaitingApproval();
    const status = await statusOf(handle);
    const command = status.pendingApproval?.command ?? '';
    expect(command).toMatch(/rollout undo deployment\//);

    const stored = await history(handle.workflowId);
    const payloads = payloadsIn(stored);
    // The alert, the input, every activity's arguments and results, the memo, the UI's summary and details.
    expect(payloads.length).toBeGreaterThan(20);
    expect(payloads.filter((p) => metadataText(p, 'encoding') !== 'binary/encrypted')).toEqual([]);
    expect(new Set(payloads.map((p) => metadataText(p, 'encryption-key-id')))).toEqual(new Set(['k1']));
    // The proposed command and the findings are in the history, sealed: in no stored byte, in the opened payloads.
    const storedBytes = Buffer.from(proto.temporal.api.history.v1.History.encode(stored).finish());
    const opened = Buffer.concat((await new HistoryEncryptionCodec(parseHistoryKeys(k1)).decode(payloads)).map((p) => Buffer.from(p.data ?? [])));
    for (const secret of [command, 'CrashLoopBackOff']) {
      expect(opened.includes(secret), `${secret} in the opened payloads`).toBe(true);
      expect(storedBytes.includes(secret), `${secret} in the stored history`).toBe(false);
    }

    const shown = await cli(k1, 'show', handle.workflowId);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(command);
    expect(shown.stdout).toMatch(/bad-rollout/);

    const keyless = await cli(undefined, 'show', handle.workflowId);
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/history is encrypted \(history key 'k1'\) and this process has no history keys: set INCIDENT_HISTORY_KEYS/);
    const wrongKey = await cli(k2, 'show', handle.workflowId);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/encrypted with history key 'k1', which this process does not have \(it has k2\)/);
    await quietlyTerminate(handle);
  });

  it("seals failure messages too: an activity's error is 'Encoded failure' in the stored history, its text sealed, and reaches the incident in clear", async () => {
    const { handle, cluster } = await awaitingApproval();
    // Every notification from here on is refused, with a text that names what a reader of Temporal must not see.
    const marker = `chat hook T0-${randomUUID().slice(0, 8)} refused the message`;
    cluster.fail('notify', () => ApplicationFailure.nonRetryable(marker, 'NotificationRejected'));
    await handle.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] });
    const status = await waitForStatus(
      handle,
      (s) => s.timeline.some((t) => t.text.includes(marker)),
      'the refused notification to be on the timeline, its message in clear',
    );
    expect(status.timeline.find((t) => t.text.includes(marker))?.text).toMatch(/^failed to send /);

    const stored = await history(handle.workflowId);
    const failures = (stored.events ?? []).flatMap((e) => (e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : []));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.message).toBe('Encoded failure');
      expect(failure.stackTrace ?? '').toBe('');
      expect(metadataText(failure.encodedAttributes ?? {}, 'encoding')).toBe('binary/encrypted');
    }
    const storedBytes = Buffer.from(proto.temporal.api.history.v1.History.encode(stored).finish());
    expect(storedBytes.includes(marker)).toBe(false);
    const opened = await new HistoryEncryptionCodec(parseHistoryKeys(k1)).decode(failures.map((f) => f.encodedAttributes ?? {}));
    expect(opened.some((p) => Buffer.from(p.data ?? []).includes(marker))).toBe(true);
    await quietlyTerminate(handle);
  });

  it('after a key rotation the open incident goes on: its old payloads still open, new ones are sealed with the new key', async () => {
    const { handle, cluster } = await awaitingApproval();
    // A step in flight as the worker is replaced: the pager is slow to take bob's acknowledgement.
    const slow = cluster.hold((n) => n.channel === 'pager' && n.event === 'acknowledge');
    await handle.signal(acknowledgeSignal, { by: 'bob' });
    await eventually(async () => (slow.caught.length > 0 ? true : undefined), 'the acknowledgement to be in flight');

    // Rotation: every process gets k2 first, k1 after it. A new worker replays the incident from its k1 history.
    await worker?.stop();
    // Everything the old worker wrote is in by now (its shutdown cancelled the held delivery and reported the attempt).
    const rotatedAt = (await history(handle.workflowId)).events?.length ?? 0;
    worker = await startIncidentWorker(env, fleet.activities, { dataConverter: after, maxCachedWorkflows: 0 });
    slow.release();
    const rotated = new Client({ connection: env.connection, dataConverter: after }).workflow.getHandle(handle.workflowId) as IncidentHandle;
    const outcome = await rotated.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] });
    expect(outcome).toMatchObject({ action: 1, approved: true, by: 'alice' });
    const status = await waitForStatus(rotated, (s) => s.phase === 'monitoring', 'the approved rollback to be applied and verified');
    expect(status.actions[0]?.decision).toMatchObject({ by: 'alice', approved: true });

    const events = (await history(handle.workflowId)).events ?? [];
    const keyIds = (from: number, to?: number) => new Set(payloadsIn(events.slice(from, to)).map((p) => metadataText(p, 'encryption-key-id')));
    expect(keyIds(0, rotatedAt)).toEqual(new Set(['k1']));
    const oldKeyAfter = events.slice(rotatedAt).filter((e) => payloadsIn(e).some((p) => metadataText(p, 'encryption-key-id') !== 'k2'));
    expect(oldKeyAfter.map((e) => JSON.stringify(e))).toEqual([]);
    expect(keyIds(rotatedAt)).toEqual(new Set(['k2']));
    // The delivery the old worker cancelled as it stopped ran again on the new one.
    expect(events.slice(rotatedAt).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2)).toBe(true);
    // The rotated ring opens the whole history; the new key alone cannot open what k1 sealed, and says so.
    const all = payloadsIn(events);
    await expect(new HistoryEncryptionCodec(parseHistoryKeys(`${k2},${k1}`)).decode(all)).resolves.toHaveLength(all.length);
    await expect(new HistoryEncryptionCodec(parseHistoryKeys(k2)).decode(all)).rejects.toThrow(/history key 'k1', which this process does not have/);
    await quietlyTerminate(rotated);
  });

  it('turned on over an incident opened in clear, the incident goes on: its clear payloads are read as they are, new ones are sealed', async () => {
    // A deployment without keys: worker and client in clear.
    const clear = historyDataConverter(undefined);
    await worker?.stop();
    worker = await startIncidentWorker(env, fleet.activities, { dataConverter: clear, maxCachedWorkflows: 0 });
    const clearClient = new Client({ connection: env.connection, dataConverter: clear });
    const { handle } = await openScenario(
      { client: clearClient, currentTimeMs: () => env.currentTimeMs() },
      fleet,
      'bad-rollout',
      {},
      { approvers: ['alice'] },
    );
    await waitForStatus(handle, settled, 'the rollback to await approval and the major incident to answer');

    // The upgrade: every process gets the keys (the ring after the rotation above: the cluster's governor has payloads of both).
    await worker.stop();
    const turnedOnAt = (await history(handle.workflowId)).events?.length ?? 0;
    worker = await startIncidentWorker(env, fleet.activities, { dataConverter: after, maxCachedWorkflows: 0 });
    const sealed = new Client({ connection: env.connection, dataConverter: after }).workflow.getHandle(handle.workflowId) as IncidentHandle;
    expect(await sealed.executeUpdate(decideUpdate, { args: [{ by: 'alice', action: 1, decision: 'approve' }] })).toMatchObject({ approved: true });
    await waitForStatus(sealed, (s) => s.phase === 'monitoring', 'the approved rollback to be applied and verified');

    const events = (await history(handle.workflowId)).events ?? [];
    const encodings = (from: number, to?: number) => new Set(payloadsIn(events.slice(from, to)).map((p) => metadataText(p, 'encoding')));
    expect(encodings(0, turnedOnAt)).not.toContain('binary/encrypted');
    const clearAfter = events.slice(turnedOnAt).filter((e) => payloadsIn(e).some((p) => metadataText(p, 'encoding') !== 'binary/encrypted'));
    expect(clearAfter.map((e) => JSON.stringify(e))).toEqual([]);
    expect(encodings(turnedOnAt)).toEqual(new Set(['binary/encrypted']));
    await quietlyTerminate(sealed);
  });
});
