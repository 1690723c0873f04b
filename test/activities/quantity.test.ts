import { describe, expect, it } from 'vitest';
import { cpuMillis, memoryBytes, parseQuantity } from '../../activities/quantity.js';

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
