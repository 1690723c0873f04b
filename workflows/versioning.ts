// How a workflow declares its versioning behavior (workflows/index.ts says which
// each has, and why). The behavior is declared only on a versioned worker's task:
// Temporal refuses a workflow task that an unversioned worker completes with a
// behavior ("versioning behavior cannot be specified without deployment options
// being set with versioned mode"), and `npm start` and most tests run
// unversioned workers.
import type { VersioningBehavior, WorkflowDefinitionOptions } from '@temporalio/common';
import { workflowInfo } from '@temporalio/workflow';

/** Workflow options with the behavior when the worker running the task is a deployment version, else none. */
export function whenVersioned(versioningBehavior: VersioningBehavior): () => WorkflowDefinitionOptions {
  return () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {});
}
