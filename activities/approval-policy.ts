// The approval policy an incident runs under: the worker's configuration
// (INCIDENT_APPROVERS, INCIDENT_AUTO_APPROVE, INCIDENT_TWO_PERSON), never the
// incident's input, which whoever starts a workflow writes. Each incident run
// loads its namespace's slice at its start.
import { z } from 'zod';
import { ApprovalPolicySchema, MitigationKindSchema, type ApprovalPolicy } from '../workflows/input.js';
import { KeyIdSchema, PublicKeySchema } from '../workflows/decision-signature.js';

const Approvers = z.array(z.string().min(1).max(200)).max(100);

/** The whole policy as the worker holds it, for every namespace it serves. */
export const WorkerApprovalPolicySchema = z.object({
  /** Who may approve where no namespace has its own list (empty: anyone). */
  approvers: Approvers.default([]),
  /** Per namespace, who may approve there instead. */
  approversByNamespace: z.record(z.string(), Approvers).default({}),
  /** Per namespace, the action kinds applied without a human. */
  autoApprove: z.record(z.string(), z.array(MitigationKindSchema)).default({}),
  /** Namespaces (or '*') where a change needs two distinct approvers. */
  twoPerson: z.array(z.string().min(1)).default([]),
  /** Public keys of the approval channels whose signed decisions count (empty: unsigned decisions count). */
  decisionKeys: z.record(KeyIdSchema, PublicKeySchema).default({}),
});
export type WorkerApprovalPolicy = z.output<typeof WorkerApprovalPolicySchema>;

/** The worker's policy as one incident needs it: its namespace's approvers, auto-approved kinds and approvals required. */
export function approvalPolicyFor(policy: WorkerApprovalPolicy | undefined, namespace: string): ApprovalPolicy {
  const approvers = policy?.approversByNamespace[namespace] ?? policy?.approvers ?? [];
  const kinds = policy?.autoApprove[namespace];
  const twoPerson = policy?.twoPerson.includes(namespace) || policy?.twoPerson.includes('*');
  return ApprovalPolicySchema.parse({
    approvers: [...approvers],
    autoApprove: kinds ? { [namespace]: [...kinds] } : {},
    ...(twoPerson ? { approvalsRequired: 2 } : {}),
    decisionKeys: { ...policy?.decisionKeys },
  });
}

/** Why a policy contradicts itself (a two-person namespace whose changes are also auto-approved), or undefined. */
export function policyConflict(policy: WorkerApprovalPolicy): string | undefined {
  const everywhere = policy.twoPerson.includes('*');
  const clash = Object.keys(policy.autoApprove).filter((ns) => (everywhere || policy.twoPerson.includes(ns)) && (policy.autoApprove[ns]?.length ?? 0) > 0);
  if (clash.length === 0) return undefined;
  return `namespace(s) ${clash.join(', ')} need two approvers (INCIDENT_TWO_PERSON) and are auto-approved (INCIDENT_AUTO_APPROVE): remove them from one of the two`;
}
