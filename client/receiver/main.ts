// The alert receiver process: config from the environment (fails fast), a
// Temporal client, and the HTTP server. SIGINT/SIGTERM close it gracefully.
import { createLogger } from '../../worker/logger.js';
import { ClientConfigError, decisionsApiConfig, loadClientConfig, pagerDutyWebhookSecret, receiverToken, servedClusters } from '../config.js';
import { Incidents, checkIncidentPolicy } from '../incidents.js';
import { CoalescingGateway } from './coalesce.js';
import { buildReceiver } from './server.js';
import { DeliverySpool } from './spool.js';

async function main(): Promise<void> {
  const config = loadClientConfig();
  const token = receiverToken(config);
  const log = createLogger(config.LOG_LEVEL, { component: 'receiver' });
  checkIncidentPolicy(config);
  const incidents = await Incidents.connect(config);
  const clusters = servedClusters(config);
  // Redeliveries answered from what the incident already has, concurrent deliveries for a service as one signal.
  const gateway = new CoalescingGateway(incidents);
  // With a spool, what a previous run left on disk is sent first, in order.
  const spool = config.RECEIVER_SPOOL_DIR
    ? await DeliverySpool.open(gateway, { dir: config.RECEIVER_SPOOL_DIR, maxPending: config.RECEIVER_SPOOL_MAX, log })
    : undefined;
  const decisions = decisionsApiConfig(config);
  const pagerDutySecret = pagerDutyWebhookSecret(config);
  const app = buildReceiver({
    token,
    defaultCluster: config.DEFAULT_CLUSTER,
    clusters,
    gateway,
    log,
    ...(spool ? { spool } : {}),
    ...(decisions ? { decisions: { ...decisions, incidents } } : {}),
    ...(pagerDutySecret ? { pagerDuty: { secret: pagerDutySecret, incidents } } : {}),
  });
  await app.listen({ host: config.RECEIVER_HOST, port: config.RECEIVER_PORT });
  log.info(
    {
      host: config.RECEIVER_HOST,
      port: config.RECEIVER_PORT,
      temporal: config.TEMPORAL_ADDRESS,
      clusters,
      spool: config.RECEIVER_SPOOL_DIR ?? 'off',
      decisions: decisions ? { people: decisions.people.size, slackUsers: decisions.slack?.users.size ?? 'off', keyId: decisions.key.keyId } : 'off',
    },
    `receiver listening: POST /alerts/alertmanager${decisions?.people.size ? ', POST /decisions' : ''}${decisions?.slack ? ', POST /slack/interactions, POST /slack/commands' : ''}${pagerDutySecret ? ', POST /pagerduty/webhook' : ''}`,
  );

  const shutdown = async (): Promise<void> => {
    await app.close();
    await spool?.close();
    await incidents.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  if (err instanceof ClientConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`receiver failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
