// A small raw client of the local API server for the node agent and the world
// seeder: JSON requests and list-then-watch streams over HTTPS, trusting only the
// control plane's CA. Raw rather than @kubernetes/client-node because the agent
// copies objects between the API server and the sandbox's store as they are,
// with no typed model in between to reshape dates or drop unknown fields.
import { request, type RequestOptions } from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';

export class ApiStatusError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown> & { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };
}

export class RawApi {
  constructor(
    readonly server: string,
    private readonly token: string,
    private readonly ca: string,
  ) {}

  /** Starts a request: the caller writes its body and ends it, then awaits the answer. */
  private open(method: string, path: string, headers: Record<string, string>, timeoutMs: number): { req: ClientRequest; res: Promise<IncomingMessage> } {
    const options: RequestOptions = {
      method,
      ca: this.ca,
      headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...headers },
      timeout: timeoutMs,
    };
    const req = request(new URL(path, this.server), options);
    const res = new Promise<IncomingMessage>((ok, fail) => {
      req.once('response', ok);
      req.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    return { req, res };
  }

  /** One JSON request; non-2xx answers throw ApiStatusError with the API server's reason. */
  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { req, res } = this.open(
      method,
      path,
      payload === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) },
      10_000,
    );
    req.end(payload);
    const answer = await res;
    let text = '';
    answer.setEncoding('utf8');
    for await (const chunk of answer) text += chunk as string;
    const status = answer.statusCode ?? 0;
    const parsed = (text ? JSON.parse(text) : {}) as T & { reason?: string; message?: string };
    if (status < 200 || status >= 300)
      throw new ApiStatusError(status, parsed.reason ?? '', `${method} ${path}: ${status} ${parsed.message ?? text.slice(0, 200)}`);
    return parsed;
  }

  /**
   * Lists `path` and then watches it from the list's resourceVersion, for ever:
   * `onList` gets each full list (the first, and again after a watch expired),
   * `onEvent` each change. Stops when `signal` aborts.
   */
  async listAndWatch(path: string, onList: (items: WatchEvent['object'][]) => void, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const list = await this.call<{ items: WatchEvent['object'][]; metadata: { resourceVersion: string } }>('GET', path);
        onList(list.items);
        let rv = list.metadata.resourceVersion;
        while (!signal.aborted) {
          const sep = path.includes('?') ? '&' : '?';
          const { req, res } = this.open('GET', `${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=300`, {}, 330_000);
          const abort = () => req.destroy();
          signal.addEventListener('abort', abort, { once: true });
          req.end();
          const answer = await res;
          if (answer.statusCode !== 200) {
            answer.resume();
            break;
          }
          let buffer = '';
          let expired = false;
          answer.setEncoding('utf8');
          for await (const chunk of answer) {
            buffer += chunk as string;
            let newline: number;
            while ((newline = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, newline);
              buffer = buffer.slice(newline + 1);
              if (!line.trim()) continue;
              const event = JSON.parse(line) as WatchEvent;
              if (event.type === 'ERROR') {
                expired = true;
                break;
              }
              rv = event.object.metadata?.resourceVersion ?? rv;
              if (event.type !== 'BOOKMARK') onEvent(event);
            }
            if (expired) break;
          }
          signal.removeEventListener('abort', abort);
          if (expired) break;
        }
      } catch (err) {
        if (signal.aborted) return;
        // The API server restarting or a dropped stream: list again shortly.
        void err;
      }
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 500));
    }
  }
}
