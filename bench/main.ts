// `npm run bench -- NAME [args]`: runs bench/NAME.ts. Benchmarks print figures;
// none of them asserts a time.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [name, ...rest] = process.argv.slice(2);
const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
  .map((f) => f.replace(/\.ts$/, ''));
if (!name || !existsSync(`${dir}/${name}.ts`)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [options]\n`);
  process.exit(2);
}
process.argv = [process.argv[0] ?? 'node', `${dir}/${name}.ts`, ...rest];
await import(`./${name}.ts`);
