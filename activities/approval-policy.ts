// The approval policy an incident runs under: the worker's configuration
// (INCIDENT_APPROVERS, INCIDENT_AUTO_APPROVE), never the incident's input, which
// whoever starts a workflow writes. Each incident run loads it at its start.
import type { ApprovalPolicy } from '../workflows/input.js';

/** The worker's policy as one incident needs it: the approvers, and what is auto-approved in its namespace only. */
export function approvalPolicyFor(policy: ApprovalPolicy | undefined, namespace: string): ApprovalPolicy {
  const kinds = policy?.autoApprove[namespace];
  return { approvers: [...(policy?.approvers ?? [])], autoApprove: kinds ? { [namespace]: [...kinds] } : {} };
}
