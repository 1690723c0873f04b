// No Docker engine runs here, so the image's build stage is replayed by hand:
// exactly the sources its COPY lines name are compiled by the build script, every
// program docker-compose.yml runs comes out of it and loads (its imports resolve:
// a bad setting is refused by the program's own config check, not by Node), and
// every package the compiled code imports is a production dependency, the only
// kind the run stage installs.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/temporal.js';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
/** The build stage: from the first FROM to the second. */
const buildStage = dockerfile.split(/^FROM /m)[1] ?? '';
const copied = [...buildStage.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { build?: string; command?: string[] }> };
const programs = Object.entries(compose.services).flatMap(([name, s]) => (s.build && s.command?.[0] === 'node' ? [[name, s.command[1] ?? ''] as const] : []));
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, command = process.execPath): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath, e.name));
}

let context: string;
let build: { code: number; output: string };

beforeAll(async () => {
  context = mkdtempSync(join(tmpdir(), 'image-build-'));
  for (const source of copied) cpSync(join(repoRoot, source), join(context, source), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(context, 'node_modules'), 'dir');
  // The build stage's own command.
  expect(buildStage).toMatch(/^RUN npm run build$/m);
  build = await run(['run', '-s', 'build'], context, process.env, 'npm');
}, 240_000);
afterAll(() => {
  if (context) rmSync(context, { recursive: true, force: true });
});

describe('the image build (Dockerfile)', () => {
  it('compiles from exactly the sources it copies', () => {
    expect(copied).toContain('tsconfig.build.json');
    expect(build.output).toBe('');
    expect(build.code).toBe(0);
  });

  it.each(programs)('service %s: its program %s is built and loads far enough to check its configuration', async (_name, entry) => {
    // A setting every program validates at start: it exits 2 naming it, which it can only do once every module has loaded.
    const env = { PATH: process.env.PATH, LOG_LEVEL: 'loud' };
    const started = await run([entry, ...(entry.includes('sandbox') ? ['start', '--help'] : [])], context, env);
    if (entry.includes('sandbox')) {
      expect(started.output).toMatch(/--scenario/);
      expect(started.code).toBe(0);
    } else {
      expect(started.output).toMatch(/LOG_LEVEL/);
      expect(started.code).toBe(2);
    }
  });

  it('seals failure messages from the compiled code too: the failure converter the SDK require()s is in dist', async () => {
    const probe = [
      "import { historyDataConverter } from './dist/codec/encryption-codec.js';",
      "import { newHistoryKey, parseHistoryKeys } from './dist/codec/history-keys.js';",
      "import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/index.js';",
      "const loaded = loadDataConverter(historyDataConverter(parseHistoryKeys(newHistoryKey('k1'))));",
      "const failure = loaded.failureConverter.errorToFailure(new Error('names an object'), loaded.payloadConverter);",
      'console.log(JSON.stringify({ message: failure.message, encoded: failure.encodedAttributes !== undefined }));',
    ].join('\n');
    const result = await run(['--input-type=module', '-e', probe], context);
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse(result.output)).toEqual({ message: 'Encoded failure', encoded: true });
  });

  it('imports at run time only packages the run stage installs (dependencies, not devDependencies)', () => {
    const imported = new Set<string>();
    for (const file of jsFiles(join(context, 'dist'))) {
      const code = readFileSync(file, 'utf8');
      // Static and dynamic imports; type-only imports are gone from the compiled code.
      const specifiers = [
        ...code.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s*['"]([^'"]+)['"];/gms),
        ...code.matchAll(/^import\s*['"]([^'"]+)['"];/gm),
        ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ];
      for (const m of specifiers) {
        const spec = m[1] ?? '';
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((name) => !(name in pkg.dependencies)).sort()).toEqual([]);
  });
});
