// With no URL configured for a channel, its messages are appended to
// <outbox>/<channel>.jsonl, one JSON line each, so a demo shows every message.
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function appendToOutbox(dir: string, channel: string, message: object): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${channel}.jsonl`);
  // One write per line: appends of a single line do not interleave.
  await appendFile(file, `${JSON.stringify(message)}\n`, 'utf8');
  return file;
}
