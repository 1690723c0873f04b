// The kubelet's pod addresses (sandbox/pods.ts). The node agent of the real
// control plane mirrors the API server, listing nodes and pods side by side, so
// a pod can arrive before its node: it must still take an address from its
// node's range, or two control planes on one machine can hand out the same one.
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../sandbox/cluster.js';
import { EventRecorder } from '../../sandbox/events.js';
import { Kubelet } from '../../sandbox/pods.js';
import { R } from '../../sandbox/resources.js';
import { Store } from '../../sandbox/store.js';
import { resolveTiming } from '../../sandbox/timing.js';
import type { Node, Pod } from '../../sandbox/types.js';

describe('pod addresses', () => {
  it("come from the pod's node range even when the pod is seen before its node", () => {
    const timing = resolveTiming({ rolloutMs: 100, crashLoopMs: 100 });
    // A seeded world with its pods scheduled: the source of what the mirror lists.
    const source = new Cluster(timing, { services: 2 });
    for (let i = 0; i < 20 && source.store.list<Pod>(R.pods).filter((p) => p.spec.nodeName).length === 0; i++) source.tick();
    const pods = source.store.list<Pod>(R.pods).filter((p) => p.spec.nodeName);
    expect(pods.length).toBeGreaterThan(1);

    // The mirror, in the order a slow node list gives: pods first, then their nodes with other ranges.
    const mirror = new Store();
    const kubelet = new Kubelet(mirror, new EventRecorder(mirror), source.world, timing);
    for (const pod of pods) mirror.create(R.pods, { ...pod, status: {} });
    const nodes = source.store.list<Node>(R.nodes);
    nodes.forEach((node, i) => mirror.create(R.nodes, { ...node, spec: { ...node.spec, podCIDR: `127.150.${i}.0/24`, podCIDRs: [`127.150.${i}.0/24`] } }));
    kubelet.sync(Date.now() + 60_000);

    for (const pod of pods) {
      const index = nodes.findIndex((n) => n.metadata.name === pod.spec.nodeName);
      expect(kubelet.ipOf(mirror.get<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name) as Pod)).toMatch(new RegExp(`^127\\.150\\.${index}\\.\\d+$`));
    }
  });
});
