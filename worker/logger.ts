// Structured JSON logs (pino) for the worker and the receiver. Fields that can
// carry credentials are censored by path, whatever logs them.
import { pino, type Logger } from 'pino';

export type { Logger };

const redactPaths = [
  '*.token',
  '*.apiKey',
  '*.password',
  '*.authorization',
  '*.routingKey',
  '*.routing_key',
  'config.TEMPORAL_API_KEY',
  'config.PAGERDUTY_ROUTING_KEY',
  'config.SLACK_WEBHOOK_URL',
  'config.RECEIVER_TOKEN',
  'req.headers.authorization',
];

export function createLogger(level: string, bindings: Record<string, string>): Logger {
  return pino({ level, base: bindings, redact: { paths: redactPaths, censor: '***' } });
}
