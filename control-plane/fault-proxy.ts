// A small proxy in front of the real API server, on the worker's path only, that
// injects the sandbox's faults (sandbox/faults.ts): added latency, 429 with
// Retry-After, 500, 503, 403, or a dropped connection, per verb and resource, as
// the API server would name them. With no rules it forwards every request as it
// came (watches and logs stream through), so the worker's kubeconfig always
// points here and a test or a game day can turn faults on and off.
import { request, createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Faults, type FaultRule } from '../sandbox/faults.js';

/** The RBAC verb and resource of a request, as the API server's request info names them. */
export function requestInfo(method: string, url: string): { verb: string; resource: string } {
  const { pathname, searchParams } = new URL(url, 'https://x');
  const parts = pathname.split('/').filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  const rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : [];
  const scoped = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const [resource = '', name, subresource] = scoped;
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' };
  const verb =
    method === 'GET' || method === 'HEAD' ? (searchParams.get('watch') === 'true' ? 'watch' : name ? 'get' : 'list') : (verbs[method] ?? method.toLowerCase());
  return { verb, resource: subresource ? `${resource}/${subresource}` : resource };
}

export interface FaultProxy {
  readonly url: string;
  setFaults(rules: FaultRule[]): void;
  close(): Promise<void>;
}

export async function startFaultProxy(options: { upstream: string; ca: string; key: string; cert: string }): Promise<FaultProxy> {
  const faults = new Faults();
  const upstream = new URL(options.upstream);
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, ca: options.ca },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  };
  const server: Server = createHttpsServer({ key: options.key, cert: options.cert }, (req, res) => {
    const { verb, resource } = requestInfo(req.method ?? 'GET', req.url ?? '/');
    const decision = faults.decide(verb, resource);
    const act = () => {
      if (decision.drop) return void req.socket.destroy();
      const error = decision.error;
      if (!error) return forward(req, res);
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (error.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.details.retryAfterSeconds);
      req.resume();
      res.writeHead(error.code, headers).end(JSON.stringify(error.toStatus()));
    };
    if (decision.latencyMs > 0) setTimeout(act, decision.latencyMs);
    else act();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    setFaults: (rules) => faults.set(rules),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
