// The node agent's mirror of the API server (control-plane/mirror.ts): writes
// reach the API server in order, and the last status the kubelet wrote is the
// one the API server keeps, even when a watch event of an earlier write lands
// between two writes and leaves the local copy behind.
import { describe, expect, it } from 'vitest';
import type { RawApi } from '../../control-plane/api.js';
import { MirrorStore, mergePatch } from '../../control-plane/mirror.js';
import { R } from '../../sandbox/resources.js';
import type { Pod } from '../../sandbox/types.js';

/** RFC 7386: what the API server does with a merge patch. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** An API server that holds one pod and applies the merge patches it is sent. */
function fakeApi(pod: Pod): { api: RawApi; server: () => Pod; calls: string[] } {
  let stored: unknown = pod;
  const calls: string[] = [];
  const api = {
    call: (method: string, path: string, body?: unknown) => {
      calls.push(`${method} ${path}`);
      if (method === 'PATCH') stored = applyMergePatch(stored, body);
      return Promise.resolve(stored);
    },
  } as unknown as RawApi;
  return { api, server: () => stored as Pod, calls };
}

const ready = (on: boolean) => [{ type: 'Ready', status: on ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: '2030-01-01T00:00:00Z' }];
const pod = (on: boolean, resourceVersion: string): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', uid: 'u1', resourceVersion },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'app:1' }] },
    status: { phase: 'Running', conditions: ready(on), containerStatuses: [{ name: 'app', ready: on, restartCount: 0 }] },
  }) as unknown as Pod;

describe('the mirror store', () => {
  it('keeps the last status written, when the watch brings an earlier one back between two writes', async () => {
    const { api, server } = fakeApi(pod(false, '1'));
    const mirror = new MirrorStore(api, (line) => {
      throw new Error(line);
    });
    mirror.applyList(R.pods, [pod(false, '1')]);
    // The kubelet marks the pod ready...
    mirror.update(R.pods, pod(true, '1'));
    // ...the watch delivers an older copy (the state before that write)...
    mirror.applyEvent(R.pods, { type: 'MODIFIED', object: pod(false, '1') });
    // ...and the kubelet marks it unready again: the API server must end unready.
    mirror.update(R.pods, pod(false, '1'));
    await mirror.flushed();
    expect(server().status?.conditions).toEqual(ready(false));
    expect((server().status as { containerStatuses?: { ready: boolean }[] }).containerStatuses?.[0]?.ready).toBe(false);
  });

  it('sends a pod given a deletionTimestamp as a DELETE with its grace period, and nothing for an unchanged write', async () => {
    const { api, calls } = fakeApi(pod(true, '1'));
    const mirror = new MirrorStore(api, (line) => {
      throw new Error(line);
    });
    mirror.applyList(R.pods, [pod(true, '1')]);
    mirror.update(R.pods, pod(true, '1'));
    const deleting = pod(true, '1');
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: '2030-01-01T00:00:30Z', deletionGracePeriodSeconds: 30 };
    mirror.update(R.pods, deleting);
    await mirror.flushed();
    expect(calls).toEqual(['DELETE /api/v1/namespaces/default/pods/web-1']);
  });

  it('merge patches say what changed, null for what went', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 2 } })).toEqual({ b: { d: null } });
    expect(mergePatch({ a: [1, 2] }, { a: [1, 2] })).toBeUndefined();
    expect(mergePatch({ a: [1, 2] }, { a: [2] })).toEqual({ a: [2] });
  });
});
