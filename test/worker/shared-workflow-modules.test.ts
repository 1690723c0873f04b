// zod and the schema modules, built once per worker and shared by all workflows
// (worker/shared-workflow-modules.ts). Every workflow test runs on them (the test
// bundle is built like the worker's); these check what sharing could break: that
// they still work once the SDK has frozen everything it can reach, that no
// workflow can change their data for another, and that they answer as the
// modules they stand in for.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedModulesBundlerOptions } from '../../worker/shared-workflow-modules.js';
import { IncidentInputSchema, describeIssues } from '../../workflows/input.js';
import { channels } from '../../workflows/domain.js';
import { incidentInput, newService } from '../fixtures/incident-driver.js';

/**
 * What the SDK's reusable context does to preloaded modules and to the values of the
 * context's globals (reusable-vm.ts): Object.freeze on every object it can reach
 * through own properties; a function is frozen but not looked into.
 */
function deepFreeze(value: unknown, seen = new WeakSet<object>()): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
  seen.add(value);
  if (typeof value === 'object') {
    for (const key of Reflect.ownKeys(value)) {
      try {
        deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
      } catch {
        // Some values cannot be frozen (typed arrays with elements); the SDK skips them too.
      }
    }
  }
  Object.freeze(value);
}

interface Shared {
  zod: typeof import('zod');
  input: typeof import('../../workflows/input.js');
  domain: typeof import('../../workflows/domain.js');
}

let shared: Shared;
let context: vm.Context;

beforeAll(async () => {
  const { preloadModules } = await sharedModulesBundlerOptions();
  const closure = readFileSync(preloadModules?.[0] ?? '', 'utf8');
  context = vm.createContext({});
  const module = { exports: {} as { load: () => Shared } };
  (vm.runInContext(`(function (module, exports) {\n${closure}\n})`, context) as (m: object, e: object) => void)(module, module.exports);
  deepFreeze(module.exports);
  // The global object stays open; the values of its properties are frozen, as the SDK does.
  const globals = vm.runInContext('globalThis', context) as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(globals)) if (key !== 'globalThis') deepFreeze(globals[key]);
  shared = module.exports.load();
});

describe('modules shared by every workflow of a worker', () => {
  it('given everything the SDK can reach is frozen, zod still builds schemas and reports errors in words', () => {
    const { z } = shared.zod;
    // Built after the freeze: zod installs members and its default locale on first use.
    const schema = z.object({ contact: z.email(), replicas: z.number().int().min(1) });
    const result = schema.safeParse({ contact: 'not an address', replicas: 0 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual(['Invalid email address', 'Too small: expected number to be >=1']);
    expect(schema.parse({ contact: 'sre@example.com', replicas: 2 })).toEqual({ contact: 'sre@example.com', replicas: 2 });
    // zod fills its global config lazily (its locale, its memoizer): it must stay writable.
    expect(() => z.config({ jitless: false })).not.toThrow();
  });

  it('answers an incident input as the module it stands in for does, valid or not', () => {
    const valid = incidentInput(newService('shared'), '2026-12-01T00:00:00Z');
    expect(shared.input.IncidentInputSchema.parse(valid)).toEqual(IncidentInputSchema.parse(valid));
    const hostile = { ...valid, service: { ...valid.service, namespace: 'Bad/Name' }, durations: { monitor: 'forever' } };
    const theirs = shared.input.IncidentInputSchema.safeParse(hostile);
    const ours = IncidentInputSchema.safeParse(hostile);
    expect(theirs.success).toBe(false);
    expect(shared.input.describeIssues(theirs.error!)).toBe(describeIssues(ours.error!));
  });

  it('no workflow can change their data for another: exported lists and bounds are frozen', () => {
    expect(shared.domain.channels).toEqual(channels);
    expect(() => (shared.domain.channels as unknown as string[]).push('carrier-pigeon')).toThrow(/not extensible|read only/);
    expect(() => {
      (shared.domain.logExcerptBounds as { maxChars: number }).maxChars = 1;
    }).toThrow(/not extensible|read only/);
    expect(shared.domain.logExcerptBounds.maxChars).toBe(6_000);
  });

  it("keeps zod's own globals out of the workflows' global object", () => {
    expect(vm.runInContext('typeof globalThis.__zod_globalConfig + " " + typeof globalThis.__zod_globalRegistry', context)).toBe('undefined undefined');
  });

  it('refuses, at the start of the worker, a shared module that imports Temporal APIs', async () => {
    await expect(sharedModulesBundlerOptions({ messages: 'workflows/messages' })).rejects.toThrow(
      /shared workflow modules must not import Temporal's APIs \(.*@temporalio\/workflow.*\): remove the importing module/,
    );
  });
});
