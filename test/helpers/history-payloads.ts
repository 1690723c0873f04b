// Reading an incident's history as Temporal stores it (no codec between): the
// tests that prove payloads are sealed look at exactly what the server holds.
import type { Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type proto from '@temporalio/proto';

/** The incident's history as the server returns it. */
export async function rawHistory(connection: Connection, workflowId: string, namespace = 'default'): Promise<proto.temporal.api.history.v1.IHistory> {
  const response = await connection.workflowService.getWorkflowExecutionHistory({ namespace, execution: { workflowId }, maximumPageSize: 10_000 });
  return response.history ?? {};
}

/**
 * Every Payload in a protobuf object graph (inputs, results, signals, updates, memo, user
 * metadata...) but search attributes: the server indexes those, so they are in clear by design.
 */
export function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const record = value as Record<string, unknown>;
  if (record.metadata && typeof record.metadata === 'object' && record.data instanceof Uint8Array) {
    found.push(record);
    return found;
  }
  // The SDK's own patch markers name code versions (patched('...')), written by its core in clear.
  if ((record.markerRecordedEventAttributes as { markerName?: string } | undefined)?.markerName === 'core_patch') return found;
  for (const [field, child] of Object.entries(record)) if (field !== 'searchAttributes') payloadsIn(child, found);
  return found;
}

export const metadataText = (payload: Payload, key: string): string => Buffer.from(payload.metadata?.[key] ?? []).toString('utf8');
