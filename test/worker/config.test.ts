// The worker's start-up log line carries its whole configuration (describeConfig):
// no key, token or webhook URL may appear in it, nor the credentials of any other URL.
import { describe, expect, it } from 'vitest';
import { EnvSchema, describeConfig, loadConfig, secretVariables } from '../../worker/config.js';

const canary = 'CANARY7f3a';

describe("the worker's configuration as logged at start", () => {
  it('names every key, token and webhook URL variable a secret', () => {
    const credentials = Object.keys(EnvSchema.shape).filter((name) => /(_KEY|_TOKEN|_SECRET|_PASSWORD|WEBHOOK_URL)$/.test(name));
    expect(credentials.length).toBeGreaterThanOrEqual(6);
    for (const name of credentials) expect(secretVariables as readonly string[], name).toContain(name);
  });

  it('shows no secret value, and no user, password or query of any other URL', () => {
    const config = loadConfig({
      TEMPORAL_API_KEY: `key-${canary}`,
      PAGERDUTY_ROUTING_KEY: `routing-${canary}`,
      SLACK_WEBHOOK_URL: `https://hooks.slack.example/services/T0/B0/${canary}`,
      STATUS_PAGE_WEBHOOK_URL: `https://status.example/hooks/${canary}`,
      TICKET_WEBHOOK_URL: `https://tickets.example/api/${canary}`,
      STAKEHOLDERS_WEBHOOK_URL: `https://comms.example/notify/${canary}`,
      PROMETHEUS_URL: `https://reader:${canary}@prometheus.example:9090/`,
      PAGERDUTY_EVENTS_URL: `https://events.pagerduty.example/v2/enqueue?token=${canary}`,
      DEPENDENCY_URLS: `db=https://admin:${canary}@db.example/health,api=https://api.example/health?key=${canary}`,
      CUSTOMER_PROBE: `https://probe:${canary}@shop.example/`,
    });
    const logged = JSON.stringify(describeConfig(config));
    expect(logged).not.toContain(canary);
    // What is not a credential stays readable, so the line still says where things go.
    expect(logged).toContain('https://***@prometheus.example:9090/');
    expect(logged).toContain('db=https://***@db.example/health,api=https://api.example/health?***');
    expect(logged).toContain('https://events.pagerduty.example/v2/enqueue?***');
  });
});
