// kubectl patch configmap NAME -p "$(last applied values of the drifted keys)" && kubectl rollout restart deployment/X
//
// The values are read again here, from the source of truth (the config map's
// `last-applied-configuration` annotation), never taken from findings: findings
// are redacted and cut for people. The action names each key with the SHA-256
// of the value that was shown for approval; a value that changed since is
// refused, and after the write the object must hold exactly those bytes.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import { lastAppliedData } from '../configuration.js';
import { fingerprintOf, sha256 } from '../digest.js';
import { dataChanges } from '../diff.js';
import { redact, truncate, type Redactor } from '../redact.js';
import { FailureTypes } from '../types.js';
import type { KubeClients } from './cluster.js';
import type { MutationPlan, WriteStep } from './mutation.js';
import { configMapStep } from './patch-config-map.js';
import { restartStep } from './rollout-restart.js';

/** The exact last applied values of `keys`, checked against the digests that were approved. */
function sourceOfTruth(configMap: V1ConfigMap, name: string, keys: Record<string, string>): Record<string, string> {
  const lastApplied = lastAppliedData(configMap);
  if (!lastApplied) {
    throw ApplicationFailure.nonRetryable(
      `config map ${name} has no readable last-applied-configuration annotation any more: there is no source of truth to restore from; investigate again`,
      FailureTypes.StalePlan,
    );
  }
  const data: Record<string, string> = {};
  for (const [key, approved] of Object.entries(keys)) {
    const value = lastApplied[key];
    if (value === undefined) {
      throw ApplicationFailure.nonRetryable(
        `the last applied configuration of config map ${name} no longer has key ${key}: nothing was written; investigate again`,
        FailureTypes.StalePlan,
      );
    }
    const now = sha256(value);
    if (now !== approved) {
      throw ApplicationFailure.nonRetryable(
        `the last applied value of ${name}.${key} changed since it was approved (approved sha256 ${approved.slice(0, 12)}, now ${now.slice(0, 12)}): nothing was written; investigate again`,
        FailureTypes.StalePlan,
      );
    }
    data[key] = value;
  }
  return data;
}

function restoreStep(k: KubeClients, namespace: string, name: string, keys: Record<string, string>): WriteStep {
  return configMapStep(k, namespace, name, {
    data: (current) => sourceOfTruth(current, name, keys),
    // Read back: the object must now hold exactly the bytes that were approved.
    check: (held) => {
      const wrong = Object.keys(keys).filter((key) => held[key] === undefined || sha256(held[key]) !== keys[key]);
      if (wrong.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `config map ${name} does not hold the restored value of ${wrong.join(', ')} after the write (something else changed it, e.g. an admission webhook); check it by hand`,
          FailureTypes.Invalid,
        );
      }
    },
    describe: (before, after, data) =>
      Object.keys(data)
        .sort()
        .flatMap((key) =>
          dataChanges(`config map ${name}`, pick(before, key), pick(after, key), shortRedactor).map(
            (line) => `${line} (the last applied value: ${fingerprintOf(data[key] ?? '')})`,
          ),
        ),
  });
}

const pick = (data: Record<string, string>, key: string): Record<string, string> => (data[key] === undefined ? {} : { [key]: data[key] });

/** The approver sees the start of each value (redacted) and its digest; the whole value stays in the cluster. */
const shownLength = 80;
const shortRedactor: Redactor = { ...redact, value: (key, value) => truncate(redact.value(key, value), shownLength) };

/** Config is read at start-up: the restore is followed by a restart (with the workflow's timestamp) so pods pick it up. */
export function restoreConfigMap(k: KubeClients, service: ServiceRef, name: string, keys: Record<string, string>, restartedAt: string): MutationPlan {
  return {
    // Each value is shown by its digest (lastAppliedPlaceholder): the whole value stays in the cluster.
    command: mutationCommand(service, { kind: 'restore-config-map', name, keys, restartedAt }),
    steps: [restoreStep(k, service.namespace, name, keys), restartStep(k, service, restartedAt)],
  };
}
