// The sandbox's own HTTP API, beside the Kubernetes one: change a running
// sandbox (break, heal, faults), read its audit log and status. Same bearer
// token as the Kubernetes API; bodies validated with zod. The fake external
// dependency (runbook step 5) lives here too, without auth, as a public API would.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { sendJson } from './api.js';
import { dependencyDownAt } from './app.js';
import type { AuditLog } from './audit.js';
import type { Cluster } from './cluster.js';
import { ApiError, badRequest } from './errors.js';
import type { Faults } from './faults.js';
import { scenarioNames } from './scenarios.js';
import type { World } from './world.js';

const FaultRuleSchema = z.strictObject({
  verb: z.enum(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']).optional(),
  resource: z.string().min(1).optional(),
  status: z.union([z.literal(403), z.literal(429), z.literal(500), z.literal(503)]).optional(),
  rate: z.number().min(0).max(1),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  drop: z.boolean().optional(),
});
const BreakBody = z.strictObject({ scenario: z.enum(scenarioNames as [string, ...string[]]), service: z.string().min(1).optional() });
const HealBody = z.strictObject({ service: z.string().min(1).optional() });
const FaultsBody = z.strictObject({ rules: z.array(FaultRuleSchema) });

export const dependencyHealthPath = '/sandbox/dependencies/anthropic/v1/health';

function parse<T>(schema: z.ZodType<T>, raw: Buffer): T {
  let value: unknown;
  try {
    value = raw.length ? JSON.parse(raw.toString('utf8')) : {};
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(`invalid request: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`);
  return result.data;
}

/** Whether the fake Anthropic API is up: down while any service's dependency is down. */
export function dependencyUp(world: World, now = Date.now()): boolean {
  return ![...world.services.values()].some((s) => dependencyDownAt(s, now));
}

/** GET/HEAD of the fake dependency's health endpoint (served by the sandbox, and by the node agent of the real control plane). */
export function answerDependency(world: World, req: IncomingMessage, res: ServerResponse): void {
  const up = dependencyUp(world);
  const body = JSON.stringify(up ? { status: 'ok' } : { status: 'unavailable', error: 'upstream connect error or disconnect/reset before headers' });
  res.writeHead(up ? 200 : 503, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export class AdminApi {
  constructor(
    private readonly cluster: Cluster,
    private readonly faults: Faults,
    private readonly audit: AuditLog,
  ) {}

  dependencyUp(): boolean {
    return dependencyUp(this.cluster.world);
  }

  dependency(req: IncomingMessage, res: ServerResponse): void {
    answerDependency(this.cluster.world, req, res);
  }

  private known(service: string | undefined): void {
    if (service !== undefined && !this.cluster.world.services.has(service)) {
      throw new ApiError(404, 'NotFound', `unknown service "${service}"; the sandbox runs ${[...this.cluster.world.services.keys()].join(', ')}`);
    }
  }

  status(): Record<string, unknown> {
    return {
      services: [...this.cluster.world.services.values()].map((s) => ({
        name: s.names.name,
        namespace: s.namespace,
        scenario: s.scenario,
        recovered: this.cluster.isRecovered(s.names.name),
      })),
      dependencies: { anthropic: this.dependencyUp() ? 'up' : 'down' },
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, body: () => Promise<Buffer>): Promise<void> {
    const route = `${req.method ?? 'GET'} ${path}`;
    switch (route) {
      case 'POST /sandbox/break': {
        const { scenario, service } = parse(BreakBody, await body());
        this.known(service);
        this.cluster.break(scenario as (typeof scenarioNames)[number], service);
        return sendJson(res, 200, this.status());
      }
      case 'POST /sandbox/heal': {
        const { service } = parse(HealBody, await body());
        this.known(service);
        this.cluster.heal(service);
        return sendJson(res, 200, this.status());
      }
      case 'PUT /sandbox/faults': {
        const { rules } = parse(FaultsBody, await body());
        this.faults.set(rules);
        return sendJson(res, 200, { rules });
      }
      case 'GET /sandbox/status':
        return sendJson(res, 200, this.status());
      case 'GET /sandbox/audit':
        return sendJson(res, 200, { entries: this.audit.all() });
      default:
        throw new ApiError(404, 'NotFound', `no sandbox endpoint ${route}`);
    }
  }
}
