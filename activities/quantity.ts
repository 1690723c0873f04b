// Kubernetes resource quantities (apimachinery's resource.Quantity) as numbers:
// CPU in millicores, memory in bytes. Used for node allocation, pod usage and
// the memory-ceiling guardrail. The parsing itself is the workflows' (one parser
// for the plan's arithmetic and the activities' checks).
import { parseQuantity as parseAnyQuantity } from '../workflows/units.js';

/** The quantity's value in base units (cores, bytes); throws on a malformed quantity. */
export function parseQuantity(quantity: string): number {
  const value = parseAnyQuantity(quantity);
  if (value === undefined) throw new Error(`'${quantity}' is not a Kubernetes quantity (e.g. 500m, 2, 256Mi, 1Gi)`);
  return value;
}

export function cpuMillis(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.round(parseQuantity(quantity) * 1000);
}

export function memoryBytes(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.round(parseQuantity(quantity));
}
