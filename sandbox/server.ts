// The server: loopback only, bearer-token auth (401 otherwise, as the API server
// answers), /version and health probes open like a real cluster's, the
// Kubernetes API under /api and /apis, the sandbox's admin API under /sandbox.
//
// One port speaks both TLS and plain HTTP (told apart by the first byte): kubectl
// only sends its token over TLS, so the kubeconfig says https, while programmatic
// clients can use the plain http URL without trusting a certificate.
//
// Built on node:http rather than a framework: the API's content types (three
// patch types, chunked watches, a proxy that passes any body through) and fault
// injection's dropped connections need the raw request and socket.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { dependencyHealthPath, type AdminApi } from './admin.js';
import { sendJson, type KubeApi } from './api.js';
import { ApiError } from './errors.js';
import type { Certificate } from './tls.js';

const maxBody = 3 * 1024 * 1024;

const version = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.2',
  gitCommit: '67a30c0adcf52bd3f56ff0893ce19966be12991f',
  gitTreeState: 'clean',
  buildDate: '2025-02-12T21:19:47Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function readBody(req: IncomingMessage): () => Promise<Buffer> {
  let pending: Promise<Buffer> | undefined;
  return () =>
    (pending ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) {
          reject(new ApiError(413, 'RequestEntityTooLarge', 'the request is too large'));
          req.destroy();
        } else chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    }));
}

function authorized(req: IncomingMessage, token: Buffer): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length).trim());
  return given.length === token.length && timingSafeEqual(given, token);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const error =
    e instanceof ApiError
      ? e
      : new ApiError(
          500,
          'InternalError',
          `an error on the server ("${e instanceof Error ? e.message : String(e)}") has prevented the request from succeeding`,
        );
  const retry = error.details?.retryAfterSeconds;
  sendJson(res, error.code, error.toStatus(), retry !== undefined ? { 'Retry-After': String(retry) } : {});
}

type Deps = { api: KubeApi; admin: AdminApi; token: string; certificate: Certificate };

function handler(deps: Deps): (req: IncomingMessage, res: ServerResponse) => void {
  const token = Buffer.from(deps.token);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === dependencyHealthPath) return deps.admin.dependency(req, res);
    if (path === '/version') return sendJson(res, 200, version);
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (!authorized(req, token)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    const body = readBody(req);
    if (path.startsWith('/sandbox/')) return deps.admin.handle(req, res, path, body);
    if (path === '/api' || path.startsWith('/api/') || path === '/apis' || path.startsWith('/apis/')) {
      // Impersonation names the user in the audit log, as the API server records it.
      const impersonated = req.headers['impersonate-user'];
      const user = (Array.isArray(impersonated) ? impersonated[0] : impersonated) ?? 'sandbox-admin';
      return deps.api.handle({ req, res, url, user, body });
    }
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  };
  return (req, res) => {
    handle(req, res).catch((e: unknown) => sendError(res, e));
  };
}

export class SandboxServer {
  private readonly plain: Server;
  private readonly secure: Server;
  private readonly front = createNetServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
  private readonly sockets = new Set<Socket>();

  constructor(deps: Deps) {
    const onRequest = handler(deps);
    this.plain = createHttpServer(onRequest);
    this.secure = createHttpsServer({ key: deps.certificate.key, cert: deps.certificate.cert }, onRequest);
    for (const s of [this.plain, this.secure]) s.keepAliveTimeout = 30_000;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const onError = () => socket.destroy();
    socket.on('error', onError);
    // Peek at the first byte without switching the stream to flowing mode: the TLS
    // socket replays what is buffered, and the HTTP server resumes the stream itself.
    const route = () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        socket.once('readable', route);
        return;
      }
      socket.off('error', onError);
      socket.unshift(first);
      // 0x16 opens a TLS handshake record; anything else is taken for HTTP/1.1.
      (first[0] === 0x16 ? this.secure : this.plain).emit('connection', socket);
    };
    socket.once('readable', route);
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.front.once('error', reject);
      this.front.listen(port, host, () => {
        this.front.off('error', reject);
        const address = this.front.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops listening and ends every connection, open watches included. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.front.close((e) => (e ? reject(e) : resolve()));
      // A TLS socket owns the connection once it wraps the raw one, so each server ends its own.
      this.plain.closeAllConnections();
      this.secure.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
