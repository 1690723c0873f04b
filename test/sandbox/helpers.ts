// One place that builds what the sandbox tests need: a fast sandbox with its
// kubeconfig in a temp dir, real kubectl with a fresh discovery cache per test
// file, @kubernetes/client-node clients from the same kubeconfig, and polling.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index.js';

/** Fast enough for tests, slow enough that a loaded machine keeps up. */
export const timing = { rolloutMs: 400, crashLoopMs: 400 };

export interface TestSandbox {
  sandbox: Sandbox;
  dir: string;
  kubeconfig: string;
  kubectl: (...args: string[]) => Promise<KubectlResult>;
  apps: AppsV1Api;
  core: CoreV1Api;
  kc: KubeConfig;
  close: () => Promise<void>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sandboxFor(options: SandboxOptions = {}): Promise<TestSandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const sandbox = await startSandbox({ timing, ...options, kubeconfigPath: kubeconfig });
  const cacheDir = join(dir, 'kube-cache');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    sandbox,
    dir,
    kubeconfig,
    kubectl: (...args) =>
      new Promise((resolve) => {
        execFile(
          'kubectl',
          ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '--request-timeout=20s', ...args],
          { timeout: 60_000 },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    kc,
    close: async () => {
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until the check returns a value other than undefined/false, or fails with the last reason. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fails if the sandbox reports the service recovered at any point during the window. */
export async function staysBroken(sandbox: Sandbox, ms: number, service?: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (sandbox.isRecovered(service)) throw new Error('the service recovered after a wrong fix');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET with the sandbox's token over its plain-http URL. */
export async function api(sandbox: Sandbox, path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const response = await fetch(`${sandbox.url}${path}`, { ...init, headers: { Authorization: `Bearer ${sandbox.token}`, ...(init.headers ?? {}) } });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers };
}
