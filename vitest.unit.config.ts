// `npm run test:unit`: the pure tests, with nothing but Node (no Temporal server,
// no Java, Go, kubectl, Chromium or Prometheus): decisions and plans, the
// incident model and its snapshot, parsers, payload and redaction rules, the
// in-process sandbox API. Under a minute; `npm test` runs these and the rest.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/workflows/decisions.test.ts',
      'test/workflows/decisions.property.test.ts',
      'test/workflows/model.test.ts',
      'test/workflows/common-cause.test.ts',
      'test/workflows/governor-model.test.ts',
      'test/activities/quantity.test.ts',
      'test/activities/redact.test.ts',
      'test/activities/metrics.test.ts',
      'test/activities/rollout-status.test.ts',
      'test/activities/mutation-parts.test.ts',
      'test/activities/notify.test.ts',
      'test/activities/errors.test.ts',
      'test/activities/cluster.test.ts',
      'test/codec/encryption-codec.test.ts',
      'test/codec/codec-server.test.ts',
      'test/activities/deps.test.ts',
      'test/activities/log-context.test.ts',
      'test/control-plane/mirror.test.ts',
      'test/sandbox/kubelet.test.ts',
      'test/docs/runbook-mapping.test.ts',
      'test/client/alertmanager.test.ts',
      'test/client/incident-policy.test.ts',
      'test/client/major-list.test.ts',
    ],
    // Nothing here starts a Temporal worker: threads, and no SDK runtime set-up.
    pool: 'threads',
    testTimeout: 30_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
