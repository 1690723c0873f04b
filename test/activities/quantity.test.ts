import { describe, expect, it } from 'vitest';
import { cpuMillis, memoryBytes, parseQuantity } from '../../activities/quantity.js';
import { EnvSchema, loadConfig } from '../../worker/config.js';
import { IncidentInputSchema } from '../../workflows/input.js';
import { parseDuration, parseMemory } from '../../workflows/units.js';

describe('Kubernetes quantities', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['0.25', 250],
    ['1500m', 1500],
  ])('cpu %s = %d millicores', (q, millis) => expect(cpuMillis(q)).toBe(millis));

  it.each([
    ['256Mi', 256 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['128974848', 128974848],
    ['129M', 129e6],
    ['1e3', 1000],
    ['64Ki', 65536],
  ])('memory %s = %d bytes', (q, bytes) => expect(memoryBytes(q)).toBe(bytes));

  it('absent quantities count as zero', () => {
    expect(cpuMillis(undefined)).toBe(0);
    expect(memoryBytes(undefined)).toBe(0);
  });

  it('refuses malformed quantities with a message that shows the format', () => {
    expect(() => parseQuantity('lots')).toThrow(/not a Kubernetes quantity/);
    expect(() => parseQuantity('12XB')).toThrow(/256Mi/);
  });
});

// One grammar (workflows/units.ts) for every reader: the plan's arithmetic, the
// activities' guardrails, the workflow input and the worker's MEMORY_CEILING.
describe('one quantity grammar for the workflow, the activities and the worker', () => {
  const good: [string, number][] = [
    ['4G', 4e9],
    ['4Gi', 4 * 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['1e9', 1e9],
    ['2Ti', 2 * 2 ** 40],
    ['1073741824', 2 ** 30],
  ];
  const bad = ['4GB', '4gi', 'Gi', '', '1.5.5Gi', '-1Gi', 'four', '4 Gi', '0x10'];

  it.each(good)('memory %s = %d bytes everywhere', (q, bytes) => {
    expect(parseMemory(q)).toBe(bytes);
    expect(memoryBytes(q)).toBe(bytes);
    expect(worker(q).success).toBe(true);
    expect(workflow(q).success).toBe(true);
  });

  it.each(bad)('memory %j is refused everywhere', (q) => {
    expect(parseMemory(q)).toBeUndefined();
    expect(() => memoryBytes(q)).toThrow(/not a Kubernetes memory quantity/);
    expect(worker(q).success).toBe(false);
    expect(workflow(q).success).toBe(false);
  });

  it('cpu in millicores from the same grammar', () => {
    expect(cpuMillis('500m')).toBe(500);
    expect(cpuMillis('1.5')).toBe(1500);
    expect(cpuMillis('2k')).toBe(2_000_000);
    expect(() => cpuMillis('500 m')).toThrow(/not a Kubernetes quantity/);
  });

  it('the worker refuses a bad MEMORY_CEILING in the one-line configuration error', () => {
    expect(() => loadConfig({ MEMORY_CEILING: '4GB' })).toThrow(/MEMORY_CEILING: a Kubernetes memory quantity/);
    expect(loadConfig({ MEMORY_CEILING: '4G' }).MEMORY_CEILING).toBe('4G');
  });

  it('the worker takes WORKER_MAX_CACHED_WORKFLOWS as a count of 2 or more, and leaves it to the SDK when unset', () => {
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '60' }).WORKER_MAX_CACHED_WORKFLOWS).toBe(60);
    expect(loadConfig({}).WORKER_MAX_CACHED_WORKFLOWS).toBeUndefined();
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: at least 2/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
  });
});

describe('one duration grammar', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 15 * 60_000],
    ['1.5h', 5_400_000],
    ['7d', 7 * 86_400_000],
    ['250ms', 250],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['15', '15 m', ' 15m', '15min', 'm', '-5m'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());
});

function worker(q: string) {
  return EnvSchema.shape.MEMORY_CEILING.safeParse(q);
}

function workflow(q: string) {
  return IncidentInputSchema.safeParse({
    service: { cluster: 'prod', namespace: 'default', deployment: 'agent-native-framework' },
    alert: { name: 'ServiceDown', severity: 'critical', startsAt: '2026-03-01T12:00:00.000Z', fingerprint: 'abc' },
    guardrails: { memoryCeiling: q },
  });
}
