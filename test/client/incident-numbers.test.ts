// Incident numbers as people use them: one per incident, even when Alertmanager
// re-sends the same firing after a hand resolution, and the CLI's resolveId that
// turns "INC-123456" into the workflow ID its commands act on, against the dev
// server's visibility (no worker: the runs only need to exist with their search
// attributes; terminating a run stands in for its resolution).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv, eventually } from '../helpers/temporal.js';
import { alertFor, incidentInput, newService, openIncident } from '../fixtures/incident-driver.js';
import { IncidentNotFound, Incidents, incidentNumberFor } from '../../client/incidents.js';
import { loadClientConfig } from '../../client/config.js';
import { incidentWorkflowId } from '../../workflows/messages.js';

let env: TestWorkflowEnvironment;
let incidents: Incidents;

beforeAll(async () => {
  env = await devServerEnv();
  incidents = new Incidents(env.client, loadClientConfig({ DEFAULT_CLUSTER: 'test' }));
});
afterAll(async () => {
  await env?.teardown();
});

/** The IncidentNumber of the workflow ID's newest run. */
async function numberOf(workflowId: string): Promise<number> {
  const description = await env.client.workflow.getHandle(workflowId).describe();
  const value = description.typedSearchAttributes.getAll().find((pair) => pair.key.name === 'IncidentNumber')?.value;
  if (typeof value !== 'number') throw new Error(`${workflowId} has no IncidentNumber`);
  return value;
}

/** What resolveId throws, or undefined. */
async function refusal(ref: string): Promise<Error | undefined> {
  return incidents.resolveId(ref).then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

describe('incident numbers', () => {
  it('are the same for the same opening, and differ for the same alert opened again later', () => {
    const workflowId = 'incident/test/default/checkout';
    const startsAt = '2026-03-01T12:00:00Z';
    const opened = Date.parse('2026-03-01T12:00:05Z');
    expect(incidentNumberFor(workflowId, startsAt, opened)).toBe(incidentNumberFor(workflowId, startsAt, opened));
    const first = incidentNumberFor(workflowId, startsAt, opened);
    const later = Array.from({ length: 50 }, (_, i) => incidentNumberFor(workflowId, startsAt, opened + (i + 1) * 3_600_000));
    expect(later).not.toContain(first);
    expect([first, ...later].every((n) => n >= 100_000 && n <= 999_999 && Number.isInteger(n))).toBe(true);
  });

  it('given an incident closed while its alert still fires, when the same firing opens the next one, then each has its own number and resolveId takes only the open one', async () => {
    const service = newService('numbered');
    const alert = alertFor(service, new Date().toISOString());
    const workflowId = await incidents.open(service, alert);
    const first = await numberOf(workflowId);
    await eventually(async () => ((await refusal(`INC-${first}`)) === undefined ? true : undefined), 'the first incident to be listed');
    expect(await incidents.resolveId(`INC-${first}`)).toBe(workflowId);
    await env.client.workflow.getHandle(workflowId).terminate('resolved by hand (stands in for the resolve signal)');

    // Alertmanager's repeat_interval: the same firing, the same startsAt.
    await incidents.open(service, alert);
    const second = await numberOf(workflowId);
    expect(second).not.toBe(first);
    await eventually(async () => ((await refusal(`INC-${second}`)) === undefined ? true : undefined), 'the second incident to be listed');
    expect(await incidents.resolveId(`INC-${second}`)).toBe(workflowId);
    expect(await incidents.resolveId(String(second))).toBe(workflowId);

    // A command on the workflow ID would reach the newer incident: the older number is refused.
    const refused = await refusal(`INC-${first}`);
    expect(refused).toBeInstanceOf(IncidentNotFound);
    expect(refused?.message).toBe(
      `INC-${first} (${workflowId}) is closed, and the service's incident now is INC-${second}: use that number, or the Temporal UI for the closed one`,
    );
  });

  it('refuses a number that incidents of two services share, naming both', async () => {
    const services = [newService('collide'), newService('collide')];
    const number = 100_000 + Math.floor(Math.random() * 900_000);
    for (const service of services) await openIncident(env.client, incidentInput(service, new Date().toISOString(), { incidentNumber: number }));
    const refused = await eventually(async () => {
      const e = await refusal(`INC-${number}`);
      return e?.message.includes('2 services') ? e : undefined;
    }, 'both incidents to be listed');
    expect(refused).toBeInstanceOf(IncidentNotFound);
    for (const service of services) expect(refused.message).toContain(incidentWorkflowId(service));
  });
});
