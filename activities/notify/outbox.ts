// With no URL configured for a channel, its messages are appended to
// <outbox>/<channel>.jsonl, one JSON line each, so a demo shows every message.
// A message whose id is there already (a retry after the write landed) is not
// written again: the outbox delivers each message once, as a receiver that
// honours idempotency keys would.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

async function holds(file: string, id: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.includes(`"id":${JSON.stringify(id)}`);
}

export async function appendToOutbox(dir: string, channel: string, message: { id?: string | undefined; [field: string]: unknown }): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${channel}.jsonl`);
  if (message.id !== undefined && (await holds(file, message.id))) return file;
  // One write per line: appends of a single line do not interleave.
  await appendFile(file, `${JSON.stringify(message)}\n`, 'utf8');
  return file;
}
