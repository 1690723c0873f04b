// The three patch types, as kubectl and the client libraries send them.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../sandbox/errors.js';
import { applyPatch } from '../../sandbox/patch.js';

const deployment = {
  metadata: { name: 'web', annotations: { a: '1' }, finalizers: ['x'] },
  spec: {
    replicas: 2,
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            resources: { limits: { memory: '1Gi', cpu: '1' } },
          },
          { name: 'sidecar', image: 'proxy:1' },
        ],
      },
    },
  },
};

describe('strategic merge patch', () => {
  it('merges containers by name and ignores $setElementOrder (kubectl set image)', () => {
    const patch = {
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }], containers: [{ name: 'app', image: 'app:2' }] } } },
    };
    const out = applyPatch('strategic', deployment, patch, 'Deployment') as typeof deployment;
    expect(out.spec.template.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['app', 'app:2'],
      ['sidecar', 'proxy:1'],
    ]);
    expect(out.spec.template.spec.containers[0]?.env).toHaveLength(2);
  });

  it('raises a memory limit without touching the other limits (runbook patch)', () => {
    const out = applyPatch(
      'strategic',
      deployment,
      { spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '4Gi' } } }] } } } },
      'Deployment',
    ) as typeof deployment;
    expect(out.spec.template.spec.containers[0]?.resources).toEqual({ limits: { memory: '4Gi', cpu: '1' } });
  });

  it('adds the restartedAt annotation (kubectl rollout restart)', () => {
    const out = applyPatch(
      'strategic',
      deployment,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } },
      'Deployment',
    ) as { spec: { template: { metadata: unknown } } };
    expect(out.spec.template.metadata).toEqual({ labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } });
  });

  it('honours $patch delete in a list, null to remove a key, and merges finalizers as a set', () => {
    const patch = {
      metadata: { annotations: { a: null }, finalizers: ['x', 'y'] },
      spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } },
    };
    const out = applyPatch('strategic', deployment, patch, 'Deployment') as typeof deployment;
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['app']);
    expect(out.metadata.annotations).toEqual({});
    expect(out.metadata.finalizers).toEqual(['x', 'y']);
  });

  it('does not change the original', () => {
    applyPatch('strategic', deployment, { spec: { replicas: 9 } }, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
  });
});

describe('JSON merge patch', () => {
  it('replaces lists and deletes on null (kubectl scale, kubectl patch --type merge)', () => {
    const out = applyPatch(
      'merge',
      deployment,
      { spec: { replicas: 4, template: { spec: { containers: [{ name: 'only' }] } } }, metadata: { annotations: null } },
      'Deployment',
    ) as typeof deployment;
    expect(out.spec.replicas).toBe(4);
    expect(out.spec.template.spec.containers).toEqual([{ name: 'only' }]);
    expect(out.metadata.annotations).toBeUndefined();
  });
});

describe('JSON patch', () => {
  it('replaces the template and annotations as kubectl rollout undo does', () => {
    const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:0' }] } };
    const out = applyPatch(
      'json',
      deployment,
      [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: { cause: 'old' } },
      ],
      'Deployment',
    ) as typeof deployment;
    expect(out.spec.template).toEqual(template);
    expect(out.metadata.annotations).toEqual({ cause: 'old' });
  });

  it('supports add, remove, move, copy, test and escaped pointers', () => {
    const out = applyPatch(
      'json',
      { a: { 'x/y': 1 }, list: [1, 2] },
      [
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'remove', path: '/list/0' },
        { op: 'copy', from: '/a/x~1y', path: '/b' },
        { op: 'move', from: '/b', path: '/c' },
        { op: 'test', path: '/c', value: 1 },
      ],
      'Thing',
    );
    expect(out).toEqual({ a: { 'x/y': 1 }, list: [2, 3], c: 1 });
  });

  it('rejects a failing test or a missing path with 422, naming the path and no value', () => {
    for (const ops of [[{ op: 'test', path: '/data/KEY', value: 'secret-value' }], [{ op: 'replace', path: '/nope/x', value: 'secret-value' }]]) {
      let error: unknown;
      try {
        applyPatch('json', { data: { KEY: 'other' } }, ops, 'Secret');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe(422);
      expect((error as ApiError).message).not.toContain('secret-value');
    }
  });

  it('rejects a body that is not a list of operations with 400', () => {
    expect(() => applyPatch('json', {}, { op: 'add' }, 'Thing')).toThrow(expect.objectContaining({ code: 400 }) as Error);
  });
});
