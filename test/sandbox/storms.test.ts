// Storms at fleet size: the sandbox with many services, broken at once by one
// cause. Given a storm scenario, each service's own investigation (the seven read
// activities over the sandbox's API) leads diagnose() to the same cause, named in
// its commonCause and its evidence; heal brings every service back.
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { diagnose, type CommonCause, type DiagnosisCategory } from '../../workflows/diagnose.js';
import { nodePool, teamRelease, type ScenarioName } from '../../sandbox/index.js';
import { inActivity, investigate, sandboxDeps, service } from '../activities/helpers.js';
import { sandboxFor, waitFor } from './helpers.js';

const services = 8;

const storms: { scenario: ScenarioName; category: DiagnosisCategory; commonCause: CommonCause }[] = [
  { scenario: 'shared-dependency-down', category: 'dependency-unreachable', commonCause: { kind: 'dependency', name: 'anthropic' } },
  { scenario: 'node-pool-full', category: 'unschedulable', commonCause: { kind: 'node-pool', name: nodePool.name } },
  { scenario: 'team-rollout', category: 'bad-rollout', commonCause: { kind: 'release', name: teamRelease.release } },
];

describe.concurrent(`storms over ${services} services`, () => {
  it.each(storms)('$scenario: every service diagnoses $category and names $commonCause.name', async ({ scenario, category, commonCause }) => {
    const t = await sandboxFor({ services, scenario });
    try {
      const activities = createActivities(sandboxDeps({ kubeconfigPath: t.kubeconfig }));
      const diagnoses = await Promise.all(
        t.sandbox.serviceNames.map((deployment) =>
          waitFor(
            `${deployment} to be diagnosed ${category}`,
            async () => {
              const f = await inActivity(() => investigate(activities, { ...service, deployment }));
              const d = diagnose({ collectedAt: new Date().toISOString(), ...f });
              return d.category === category && d;
            },
            30_000,
          ),
        ),
      );
      expect(diagnoses).toHaveLength(services);
      for (const d of diagnoses) {
        expect(d.commonCause).toEqual(commonCause);
        expect([d.cause, ...d.evidence].join('\n')).toContain(commonCause.name);
      }
      if (scenario === 'team-rollout') {
        const team = await t.apps.listNamespacedDeployment({ namespace: 'default', labelSelector: `team=${teamRelease.team}` });
        expect(team.items.map((d) => d.metadata?.name).sort()).toEqual([...t.sandbox.serviceNames].sort());
      }
      t.sandbox.heal();
      await waitFor(`every service to recover from ${scenario}`, () => t.sandbox.isRecovered(), 60_000);
    } finally {
      await t.close();
    }
  });
});

describe('a storm heals like the other scenarios', () => {
  it('shared-dependency-down is one outage: healing one service brings the dependency back for all', async () => {
    const t = await sandboxFor({ services: 3, scenario: 'shared-dependency-down' });
    try {
      const [first] = t.sandbox.serviceNames;
      t.sandbox.heal(first);
      await waitFor('every service to recover', () => t.sandbox.isRecovered(), 30_000);
    } finally {
      await t.close();
    }
  });
});
