// Checks deploy/grafana/service-down.json against Grafana's own dashboard model:
// the Dashboard type of @grafana/schema (Apache-2.0, types only). JSON imports
// lose their literal types, so the dashboard is written out as an object literal
// that `satisfies Dashboard`: literals stay literal and unknown fields are
// errors, as Grafana's model would have them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

// Grafana's model uses TypeScript enums (ThresholdsMode, MappingType); in JSON they are their
// string values, so each enum stands for the union of its values.
const asJson = `type AsJson<T> = T extends string ? \`\${T}\` : T extends (infer U)[] ? AsJson<U>[] : T extends object ? { [K in keyof T]: AsJson<T[K]> } : T;`;

/** tsc's errors for the dashboard against Grafana's Dashboard type; none when it fits. */
export function grafanaTypeErrors(dashboardPath: string): string[] {
  // Below the project's node_modules, so '@grafana/schema' resolves, and out of the tree tsc and eslint read.
  const cache = join(import.meta.dirname, '../../node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'grafana-check-'));
  try {
    const file = join(dir, 'dashboard.ts');
    const literal = readFileSync(dashboardPath, 'utf8');
    writeFileSync(
      file,
      `import type { Dashboard } from '@grafana/schema';\n${asJson}\nexport const dashboard = ${literal.trim()} satisfies AsJson<Dashboard>;\n`,
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line}: ` : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
