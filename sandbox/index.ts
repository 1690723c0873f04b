// The sandbox cluster (docs/architecture.md, on the sandbox): a simulated Kubernetes API
// server on loopback that the real kubectl and @kubernetes/client-node talk to,
// with the runbook's service, its failure scenarios, fault injection and an
// audit log. This module is the programmatic entry point.
//
// One port serves plain http (`url`, for programmatic clients with `token`) and
// https with a self-signed certificate (the kubeconfig's server, with the
// certificate as its CA): kubectl sends no bearer token to a plain-http server.
import { randomBytes } from 'node:crypto';
import { AdminApi } from './admin.js';
import { KubeApi } from './api.js';
import { AuditLog, type AuditEntry } from './audit.js';
import { Cluster } from './cluster.js';
import { Faults, type FaultRule } from './faults.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeKubeconfig } from './kubeconfig.js';
import { nodePool, scenarioNames, teamRelease, type ScenarioName } from './scenarios.js';
import { SandboxServer } from './server.js';
import { resolveTiming } from './timing.js';
import { selfSignedCertificate } from './tls.js';

export { nodePool, scenarioNames, teamRelease };
export type { AuditEntry, FaultRule, ScenarioName };

export interface SandboxOptions {
  /** 0 = a random free port (the default). */
  port?: number;
  /** Address to listen on: loopback by default; 0.0.0.0 in a container. */
  host?: string;
  /** The host name clients use (kubeconfig server, certificate), e.g. `sandbox` in docker-compose. */
  advertiseHost?: string;
  /** Also write the bearer token to this file (mode 600), e.g. for Prometheus' credentials_file. */
  tokenFile?: string;
  scenario?: ScenarioName;
  services?: number;
  /** Random if absent. */
  token?: string;
  /** Written if given. */
  kubeconfigPath?: string;
  canary?: string;
  timing?: { rolloutMs?: number; crashLoopMs?: number };
}

export interface Sandbox {
  /** http://127.0.0.1:PORT; the same port speaks https, as the kubeconfig says. */
  readonly url: string;
  readonly token: string;
  readonly kubeconfigPath?: string;
  readonly serviceNames: string[];
  /** Applies a scenario at run time, to one service or (without one) to all. */
  break(scenario: ScenarioName, service?: string): void;
  /** Back to healthy. */
  heal(service?: string): void;
  /** All replicas ready and the health endpoints answering 200 through the service. */
  isRecovered(service?: string): boolean;
  /** Every write through the Kubernetes API so far. */
  audit(): AuditEntry[];
  /** Replaces the fault rules; [] clears them. */
  setFaults(rules: FaultRule[]): void;
  close(): Promise<void>;
}

function checkOptions(o: SandboxOptions): void {
  const problems: string[] = [];
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) problems.push(`port ${o.port} is not 0..65535`);
  if (o.services !== undefined && (!Number.isInteger(o.services) || o.services < 1 || o.services > 999)) problems.push(`services ${o.services} is not 1..999`);
  if (o.scenario !== undefined && !scenarioNames.includes(o.scenario))
    problems.push(`unknown scenario "${String(o.scenario)}" (one of ${scenarioNames.join(', ')})`);
  if (o.token !== undefined && !/^[\x21-\x7e]+$/.test(o.token)) problems.push('token must be non-empty printable ASCII without spaces');
  for (const [k, v] of Object.entries(o.timing ?? {}))
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) problems.push(`timing.${k} must be a positive number`);
  if (problems.length > 0) throw new Error(`invalid sandbox options: ${problems.join('; ')}`);
}

/** Starts a sandbox; resolves once the scenario's symptoms (or health) are visible. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  checkOptions(options);
  const timing = resolveTiming(options.timing);
  const cluster = new Cluster(timing, { services: options.services ?? 1, canary: options.canary });
  const faults = new Faults();
  const audit = new AuditLog();
  const token = options.token ?? randomBytes(32).toString('base64url');
  const certificate = selfSignedCertificate(options.advertiseHost ? [options.advertiseHost] : []);
  const server = new SandboxServer({ api: new KubeApi(cluster, faults, audit), admin: new AdminApi(cluster, faults, audit), token, certificate });
  const port = await server.listen(options.port ?? 0, options.host);
  const url = `http://127.0.0.1:${port}`;
  if (options.scenario && options.scenario !== 'healthy') cluster.break(options.scenario);
  cluster.start();
  // Hand over a world that already shows its state, not one still starting its pods.
  const deadline = Date.now() + 10 * (timing.rolloutMs + timing.crashLoopMs);
  while (!cluster.settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, timing.tickMs));
  // https for kubectl, which sends no token over plain http; the same port answers both.
  if (options.kubeconfigPath) writeKubeconfig(options.kubeconfigPath, `https://${options.advertiseHost ?? '127.0.0.1'}:${port}`, token, certificate.cert);
  if (options.tokenFile) {
    mkdirSync(dirname(options.tokenFile), { recursive: true });
    writeFileSync(options.tokenFile, token, { mode: 0o600 });
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    token,
    kubeconfigPath: options.kubeconfigPath,
    serviceNames: [...cluster.world.services.keys()],
    break: (scenario, service) => cluster.break(scenario, service),
    heal: (service) => cluster.heal(service),
    isRecovered: (service) => cluster.isRecovered(service),
    audit: () => audit.all(),
    setFaults: (rules) => faults.set(rules),
    close: () => {
      cluster.stop();
      return (closed ??= server.close());
    },
  };
}
