// Kubernetes resource quantities (apimachinery's resource.Quantity) as numbers:
// CPU in millicores, memory in bytes. Used for node allocation, pod usage and
// the memory-ceiling guardrail. The parsing itself is the workflows' (one parser
// for the plan's arithmetic and the activities' checks).
import { parseMemory, parseQuantity as parseAnyQuantity } from '../workflows/units.js';

const format = 'e.g. 500m, 2, 256Mi, 1Gi';

/** The quantity's value in base units (cores, bytes); throws on a malformed quantity. */
export function parseQuantity(quantity: string): number {
  const value = parseAnyQuantity(quantity);
  if (value === undefined) throw new Error(`'${quantity}' is not a Kubernetes quantity (${format})`);
  return value;
}

export function cpuMillis(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.round(parseQuantity(quantity) * 1000);
}

/** Bytes, as the workflow's plan reads them (parseMemory); throws on a malformed or negative quantity. */
export function memoryBytes(quantity: string | undefined): number {
  if (quantity === undefined) return 0;
  const bytes = parseMemory(quantity);
  if (bytes === undefined) throw new Error(`'${quantity}' is not a Kubernetes memory quantity (${format})`);
  return bytes;
}
