// The node agent: what the kubelet and the containers are on the fake nodes of the
// local control plane. It runs the sandbox's kubelet (sandbox/pods.ts) over a
// mirror of the real API server (mirror.ts), so a pod scheduled by the real
// scheduler onto a kwok node goes through the same lifecycle as in the sandbox
// (ContainerCreating, Running, CrashLoopBackOff with restarts and exit codes,
// CreateContainerConfigError), written back through pods/status.
// It also serves what a kubelet and a pod serve:
// - the kubelet endpoint of every node (HTTPS on 127.0.0.1, kwok's --node-port):
//   the API server asks it for container logs, as for `kubectl logs`;
// - the pod network: each running pod's ports on its own address inside
//   127.0.0.0/8, answered by the sandbox's model of the app (health, metrics).
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { answerDependency, dependencyHealthPath } from '../sandbox/admin.js';
import { ApiError } from '../sandbox/errors.js';
import { EventRecorder } from '../sandbox/events.js';
import { Kubelet } from '../sandbox/pods.js';
import { R } from '../sandbox/resources.js';
import type { Timing } from '../sandbox/timing.js';
import { selfSignedCertificate } from '../sandbox/tls.js';
import type { Pod } from '../sandbox/types.js';
import type { World } from '../sandbox/world.js';
import type { RawApi } from './api.js';
import { collectionPath, MirrorStore, mirrored } from './mirror.js';

export interface NodeAgent {
  readonly store: MirrorStore;
  readonly kubelet: Kubelet;
  /** The fake Anthropic API's health endpoint (runbook step 5), down while the world says so. */
  readonly dependencyUrl: string;
  /** Resolves once every mirrored resource has been listed once. */
  readonly synced: Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startNodeAgent(options: {
  api: RawApi;
  world: World;
  timing: Timing;
  kubeletPort: number;
  warn: (line: string) => void;
}): Promise<NodeAgent> {
  const { api, world, timing, warn } = options;
  const store = new MirrorStore(api, warn);
  const events = new EventRecorder(store);
  const kubelet = new Kubelet(store, events, world, timing);
  const stop = new AbortController();

  const listed = mirrored.map(
    (resource) =>
      new Promise<void>((resolve) => {
        void api.listAndWatch(
          collectionPath(resource, undefined),
          (items) => {
            store.applyList(resource, items);
            resolve();
          },
          (event) => store.applyEvent(resource, event),
          stop.signal,
        );
      }),
  );
  const synced = Promise.all(listed).then(() => undefined);

  // The kubelet endpoint: GET /containerLogs/{namespace}/{pod}/{container}?previous=&tailLines=…
  const certificate = selfSignedCertificate([], 'node-agent');
  const kubeletServer = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://node');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (url.pathname === '/healthz') return void res.end('ok');
    if (!match) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`${url.pathname} is not served by this kubelet\n`);
      return;
    }
    const [, namespace = '', name = '', container = ''] = match.map(decodeURIComponent);
    const pod = store.get<Pod>(R.pods, namespace, name);
    try {
      if (!pod) throw new ApiError(404, 'NotFound', `pod "${name}" not found`);
      url.searchParams.set('container', container);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(kubelet.logs(pod, url.searchParams));
    } catch (err) {
      const status = err instanceof ApiError ? err.code : 500;
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(err instanceof Error ? err.message : String(err));
    }
  });
  await listen(kubeletServer, options.kubeletPort, '127.0.0.1');

  // The service's external dependency, as the sandbox serves it.
  const dependencyServer = createHttpServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === dependencyHealthPath) answerDependency(world, req, res);
    else res.writeHead(404).end();
  });
  await listen(dependencyServer, 0, '127.0.0.1');
  const dependencyPort = (dependencyServer.address() as { port: number }).port;

  // The pod network: a listener on podIP:port while the app listens there, closed when it stops.
  const listeners = new Map<string, Server>();
  const syncPodNetwork = () => {
    const want = new Map<string, { pod: Pod; ip: string; port: number }>();
    for (const pod of store.list<Pod>(R.pods)) {
      const ip = kubelet.ipOf(pod);
      if (!ip) continue;
      for (const port of pod.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort))) {
        try {
          kubelet.http(pod, port, '/');
          want.set(`${ip}:${port}`, { pod, ip, port });
        } catch {
          // Not listening (starting, crashed, backing off): connections are refused, as on a node.
        }
      }
    }
    for (const [key, server] of listeners) {
      if (!want.has(key)) {
        listeners.delete(key);
        server.close();
        server.closeAllConnections();
      }
    }
    for (const [key, { ip, port }] of want) {
      if (listeners.has(key)) continue;
      const server = createHttpServer((req, res) => {
        const pod = store.list<Pod>(R.pods).find((p) => kubelet.ipOf(p) === ip);
        try {
          if (!pod) throw new ApiError(503, 'ServiceUnavailable', 'connection refused');
          const answer = kubelet.http(pod, port, new URL(req.url ?? '/', 'http://pod').pathname);
          res.writeHead(answer.status, { 'Content-Type': answer.contentType }).end(answer.body);
        } catch {
          req.socket.destroy();
        }
      });
      listeners.set(key, server);
      server.on('error', (err) => warn(`node agent: cannot listen on ${key} for pod traffic: ${err.message}`));
      server.listen(port, ip);
    }
  };

  await synced;
  const timer = setInterval(() => {
    try {
      kubelet.sync(Date.now());
    } catch (err) {
      warn(`node agent: kubelet sync failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }, timing.tickMs);
  const networkTimer = setInterval(syncPodNetwork, 200);
  timer.unref();
  networkTimer.unref();

  return {
    store,
    kubelet,
    dependencyUrl: `http://127.0.0.1:${dependencyPort}${dependencyHealthPath}`,
    synced,
    close: async () => {
      clearInterval(timer);
      clearInterval(networkTimer);
      stop.abort();
      for (const server of listeners.values()) {
        server.close();
        server.closeAllConnections();
      }
      // The API server keeps its connections to a kubelet open: close them, or close() waits for their idle timeout.
      kubeletServer.closeAllConnections();
      await new Promise<void>((r) => kubeletServer.close(() => r()));
      dependencyServer.closeAllConnections();
      await new Promise<void>((r) => dependencyServer.close(() => r()));
      // Writes still pending go to an API server about to stop: wait a little for them, never for ever
      // (one retried against a loaded API server held a test file's teardown past its two minutes).
      await Promise.race([store.flushed(), new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
  };
}
