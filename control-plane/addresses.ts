// The address plan of the local control plane. Every address is inside
// 127.0.0.0/8, so nothing that follows one (the API server dialling a node's
// kubelet, the worker probing a pod) can leave this machine.
// The API server itself refuses to proxy to such pod addresses ("address not
// allowed": they are not global unicast), which is why the worker probes pods
// over the pod network here (PROBE_VIA=pod-network) rather than through it.
import { createServer } from 'node:net';

/** Cluster IPs of services (kube-apiserver --service-cluster-ip-range). */
export const serviceRange = '127.96.0.0/16';
/** Every fake node's InternalIP (kwok --node-ip): where the API server dials the kubelet for logs. */
export const nodeIP = '127.0.0.1';

/**
 * The pod network of one control plane: 127.B.0.0/16, node N's pods in
 * 127.B.N.0/24. The node agent listens on its pods' addresses, so two control
 * planes on one machine (two test processes, a test beside `npm start`) must not
 * share B: each claims its block by listening on 127.B.0.1 for its lifetime, and
 * takes the next block when that address is taken.
 */
export interface PodNetwork {
  readonly block: number;
  rangeOf(node: number): string;
  release(): Promise<void>;
}

/** Blocks a pod network may use: 127.100 to 127.239, clear of the service range (127.96) and the sandbox's pods (127.244). */
const blocks = Array.from({ length: 140 }, (_, i) => 100 + i);
const claimPort = 10_249;

export async function claimPodNetwork(): Promise<PodNetwork> {
  const start = Math.floor(Math.random() * blocks.length);
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[(start + i) % blocks.length] ?? 100;
    const server = createServer();
    const claimed = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(claimPort, `127.${block}.0.1`, () => resolve(true));
    });
    if (claimed) {
      server.unref();
      return { block, rangeOf: (node) => `127.${block}.${node}.0/24`, release: () => new Promise<void>((r) => server.close(() => r())) };
    }
  }
  throw new Error(`no free pod network block in 127.${blocks[0]}-${blocks.at(-1)}.0.0/16: too many control planes running on this machine`);
}

/** Whether an IPv4 address is inside 127.0.0.0/8. */
export function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) && address.split('.').every((o) => Number(o) <= 255);
}

/** Whether every address of a CIDR is inside 127.0.0.0/8. */
export function isLoopbackRange(cidr: string): boolean {
  const [ip = '', bits = ''] = cidr.split('/');
  return isLoopback(ip) && Number(bits) >= 8 && Number(bits) <= 32;
}
