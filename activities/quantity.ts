// Kubernetes resource quantities (apimachinery's resource.Quantity) as numbers:
// CPU in millicores, memory in bytes. Used for node allocation, pod usage and
// the memory-ceiling guardrail.

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** The quantity's value in base units (cores, bytes); throws on a malformed quantity. */
export function parseQuantity(quantity: string): number {
  const match = quantityPattern.exec(quantity.trim());
  if (!match) throw new Error(`'${quantity}' is not a Kubernetes quantity (e.g. 500m, 2, 256Mi, 1Gi)`);
  const [, number = '0', exponent, suffix = ''] = match;
  if (exponent) return Number(`${number}${exponent}`);
  return Number(number) * (binary[suffix] ?? decimal[suffix] ?? 1);
}

export function cpuMillis(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.round(parseQuantity(quantity) * 1000);
}

export function memoryBytes(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.round(parseQuantity(quantity));
}
