// No Docker engine runs here, so the production-shaped stack is checked by
// reading it: every file, build context and command it names exists, every
// variable it sets is one the program reads, ports do not clash, and the
// Prometheus -> Alertmanager -> receiver path points at the right places.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ClientEnvSchema } from '../../client/config.js';
import { EnvSchema } from '../../worker/config.js';
import { repoRoot } from '../helpers/temporal.js';

const ServiceSchema = z.object({
  image: z.string().optional(),
  build: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  ports: z.array(z.string()).optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
});
const ComposeSchema = z.object({
  services: z.record(z.string(), ServiceSchema),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

const compose = ComposeSchema.parse(parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')));
const services = Object.entries(compose.services);
const named = (name: string) => {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service '${name}'`);
  return service;
};

/** `dist/x/y.js` (the compiled file in the image) comes from `x/y.ts` in the repo. */
const sourceOf = (distPath: string) => join(repoRoot, distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts'));

describe('docker-compose.yml', () => {
  it('has the production-shaped stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['alertmanager', 'postgresql', 'prometheus', 'receiver', 'sandbox', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'worker'].sort(),
    );
  });

  it.each(services.filter(([, s]) => s.build))('service %s builds from a context with a Dockerfile whose COPY sources exist', (_name, service) => {
    const context = join(repoRoot, service.build ?? '.');
    const dockerfile = readFileSync(join(context, 'Dockerfile'), 'utf8');
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
    expect(copies.length).toBeGreaterThan(0);
    for (const source of copies) expect(existsSync(join(context, source)), `${source} named by the Dockerfile`).toBe(true);
  });

  it.each(services.filter(([, s]) => s.command?.[0] === 'node'))('service %s runs a program that exists in the repo', (_name, service) => {
    const entry = service.command?.[1] ?? '';
    expect(entry).toMatch(/^dist\/.+\.js$/);
    expect(existsSync(sourceOf(entry)), `${sourceOf(entry)}`).toBe(true);
  });

  it.each(services.filter(([, s]) => s.volumes))('service %s mounts only files that exist and volumes that are declared', (_name, service) => {
    for (const volume of service.volumes ?? []) {
      const host = volume.split(':')[0] ?? '';
      if (host.startsWith('./')) expect(existsSync(join(repoRoot, host)), `${host}`).toBe(true);
      else if (!host.startsWith('${')) expect(Object.keys(compose.volumes ?? {})).toContain(host);
    }
  });

  it.each([
    ['worker', EnvSchema],
    ['receiver', ClientEnvSchema],
  ] as const)('sets only %s variables that the program reads, each valid', (name, schema) => {
    const env = named(name).environment ?? {};
    // NODE_OPTIONS is Node's own (the worker's heap cap).
    const known = [...Object.keys(schema.shape), 'NODE_OPTIONS'];
    for (const key of Object.keys(env)) expect(known, `${name} variable ${key}`).toContain(key);
    // ${VAR:-default} resolves to the default when unset, as compose would.
    const resolved: Record<string, string> = Object.fromEntries(
      Object.entries(env)
        .map(([k, v]): [string, string] => [k, v.replace(/\$\{\w+:-([^}]*)\}/g, '$1')])
        .filter(([, v]) => v !== ''),
    );
    expect(schema.safeParse(resolved).success).toBe(true);
  });

  it("caps the worker's V8 heap, which Node would size from the host's memory", () => {
    expect(named('worker').environment?.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);
  });

  it('publishes each host port once', () => {
    const hostPorts = services.flatMap(([, s]) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('exposes the worker health port it configures', () => {
    const worker = named('worker');
    expect(worker.ports).toContain(`${worker.environment?.WORKER_HTTP_PORT}:${worker.environment?.WORKER_HTTP_PORT}`);
  });

  it('routes alerts from Prometheus through Alertmanager to the receiver with its bearer token', () => {
    const prometheus = parse(readFileSync(join(repoRoot, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      rule_files: string[];
      scrape_configs: { job_name: string }[];
    };
    const alertmanager = parse(readFileSync(join(repoRoot, 'deploy/alertmanager/alertmanager.yml'), 'utf8')) as {
      receivers: { webhook_configs: { url: string; send_resolved: boolean; http_config: { authorization: { credentials_file: string } } }[] }[];
    };
    const rules = readFileSync(join(repoRoot, 'deploy/prometheus/rules.yml'), 'utf8');

    expect(prometheus.scrape_configs.map((s) => s.job_name)).toContain('agent-native-framework');
    expect(rules).toContain('up{job="agent-native-framework"} == 0');
    const promMounts = named('prometheus').volumes ?? [];
    for (const file of prometheus.rule_files)
      expect(
        promMounts.some((v) => v.split(':')[1] === file),
        file,
      ).toBe(true);

    const amTarget = prometheus.alerting.alertmanagers[0]?.static_configs[0]?.targets[0] ?? '';
    expect(named('alertmanager').ports).toContain(`${amTarget.split(':')[1]}:${amTarget.split(':')[1]}`);
    expect(Object.keys(compose.services)).toContain(amTarget.split(':')[0]);

    const webhook = alertmanager.receivers[0]?.webhook_configs[0];
    const url = new URL(webhook?.url ?? '');
    expect(url.hostname).toBe('receiver');
    expect(url.port).toBe(named('receiver').environment?.RECEIVER_PORT);
    expect(url.pathname).toBe('/alerts/alertmanager');
    expect(webhook?.send_resolved).toBe(true);
    const tokenFile = webhook?.http_config.authorization.credentials_file ?? '';
    expect((named('alertmanager').volumes ?? []).some((v) => v.split(':')[1] === tokenFile)).toBe(true);
  });
});
