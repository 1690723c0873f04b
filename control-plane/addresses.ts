// The address plan of the local control plane. Every address is inside
// 127.0.0.0/8, so nothing that follows one (the API server dialling a node's
// kubelet, the worker probing a pod) can leave this machine.
// The API server itself refuses to proxy to such pod addresses ("address not
// allowed": they are not global unicast), which is why the worker probes pods
// over the pod network here (PROBE_VIA=pod-network) rather than through it.

/** Cluster IPs of services (kube-apiserver --service-cluster-ip-range). */
export const serviceRange = '127.96.0.0/16';
/** Every fake node's InternalIP (kwok --node-ip): where the API server dials the kubelet for logs. */
export const nodeIP = '127.0.0.1';
/** The pod range of node N (1-based): its pods' addresses, on which the node agent serves their ports. */
export const podRangeOf = (n: number) => `127.244.${n}.0/24`;

/** Whether an IPv4 address is inside 127.0.0.0/8. */
export function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) && address.split('.').every((o) => Number(o) <= 255);
}

/** Whether every address of a CIDR is inside 127.0.0.0/8. */
export function isLoopbackRange(cidr: string): boolean {
  const [ip = '', bits = ''] = cidr.split('/');
  return isLoopback(ip) && Number(bits) >= 8 && Number(bits) <= 32;
}
