// Shapes of the Kubernetes objects the sandbox reads. The zod schemas check the
// structure of what clients send (a wrong type is a 400, as the real decoder says);
// semantic rules (422 Invalid) live in admission.ts. Objects are loose: fields the
// sandbox does not model are kept and echoed back, as the API server would.
import { z } from 'zod';

const StringMap = z.record(z.string(), z.string());
// Quantities arrive as "512Mi" or as bare JSON numbers; admission turns them into strings.
const Quantity = z.union([z.string(), z.number()]);
const QuantityMap = z.record(z.string(), Quantity);
const IntOrString = z.union([z.number().int(), z.string()]);

export const OwnerReferenceSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().nullable().optional(),
  deletionTimestamp: z.string().nullable().optional(),
  deletionGracePeriodSeconds: z.number().int().optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  ownerReferences: z.array(OwnerReferenceSchema).optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: z.array(z.looseObject({})).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** Any stored object: what every resource has in common. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string };
  [key: string]: unknown;
}

const KeyRef = z.looseObject({ name: z.string().optional(), key: z.string(), optional: z.boolean().optional() });
const EnvVar = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.looseObject({ configMapKeyRef: KeyRef.optional(), secretKeyRef: KeyRef.optional() }).optional(),
});
const SourceRef = z.looseObject({ name: z.string().optional(), optional: z.boolean().optional() });
const EnvFrom = z.looseObject({
  prefix: z.string().optional(),
  configMapRef: SourceRef.optional(),
  secretRef: SourceRef.optional(),
});
export const ContainerSchema = z.looseObject({
  name: z.string(),
  image: z.string().optional(),
  env: z.array(EnvVar).optional(),
  envFrom: z.array(EnvFrom).optional(),
  resources: z.looseObject({ requests: QuantityMap.optional(), limits: QuantityMap.optional() }).optional(),
  ports: z.array(z.looseObject({ containerPort: z.number().int(), name: z.string().optional(), protocol: z.string().optional() })).optional(),
});
export type Container = z.infer<typeof ContainerSchema>;

const Toleration = z.looseObject({ key: z.string().optional(), operator: z.string().optional(), effect: z.string().optional() });
export const PodSpecSchema = z.looseObject({
  containers: z.array(ContainerSchema),
  initContainers: z.array(ContainerSchema).optional(),
  nodeName: z.string().optional(),
  serviceAccountName: z.string().optional(),
  restartPolicy: z.string().optional(),
  terminationGracePeriodSeconds: z.number().int().optional(),
  tolerations: z.array(Toleration).optional(),
  nodeSelector: StringMap.optional(),
});
export type PodSpec = z.infer<typeof PodSpecSchema>;

export const PodTemplateSchema = z.looseObject({
  metadata: ObjectMetaSchema.optional(),
  spec: PodSpecSchema,
});
export type PodTemplate = z.infer<typeof PodTemplateSchema>;

const LabelSelector = z.looseObject({
  matchLabels: StringMap.optional(),
  matchExpressions: z.array(z.looseObject({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() })).optional(),
});
export type LabelSelectorSpec = z.infer<typeof LabelSelector>;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}

export const DeploymentSchema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().int().optional(),
    selector: LabelSelector.optional(),
    template: PodTemplateSchema,
    strategy: z
      .looseObject({
        type: z.string().optional(),
        rollingUpdate: z.looseObject({ maxSurge: IntOrString.optional(), maxUnavailable: IntOrString.optional() }).optional(),
      })
      .optional(),
    revisionHistoryLimit: z.number().int().optional(),
    progressDeadlineSeconds: z.number().int().optional(),
    minReadySeconds: z.number().int().optional(),
    paused: z.boolean().optional(),
  }),
});
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: Condition[];
}
export type Deployment = KObject & z.infer<typeof DeploymentSchema> & { status?: DeploymentStatus };

export const ReplicaSetSchema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().int().optional(),
    selector: LabelSelector.optional(),
    template: PodTemplateSchema,
    minReadySeconds: z.number().int().optional(),
  }),
});
export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}
export type ReplicaSet = KObject & z.infer<typeof ReplicaSetSchema> & { status?: ReplicaSetStatus };

export interface ContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason: string; startedAt: string; finishedAt: string; containerID?: string; message?: string };
}
export interface ContainerStatus {
  name: string;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
}
export interface PodStatus {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  qosClass?: string;
}
export const PodSchema = z.looseObject({ spec: PodSpecSchema });
export type Pod = KObject & z.infer<typeof PodSchema> & { status?: PodStatus };

const ServicePort = z.looseObject({
  name: z.string().optional(),
  port: z.number().int(),
  targetPort: IntOrString.optional(),
  protocol: z.string().optional(),
  nodePort: z.number().int().optional(),
});
export const ServiceSchema = z.looseObject({
  spec: z.looseObject({
    selector: StringMap.optional(),
    ports: z.array(ServicePort).optional(),
    type: z.string().optional(),
    clusterIP: z.string().optional(),
    externalIPs: z.array(z.string()).optional(),
  }),
});
export type Service = KObject & z.infer<typeof ServiceSchema>;

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef?: { kind: string; namespace: string; name: string; uid: string };
}
export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: { name?: string; port: number; protocol: string }[];
}
export type Endpoints = KObject & { subsets?: EndpointSubset[] };

export const ConfigMapSchema = z.looseObject({
  data: StringMap.optional(),
  binaryData: StringMap.optional(),
  immutable: z.boolean().optional(),
});
export type ConfigMap = KObject & z.infer<typeof ConfigMapSchema>;

export const SecretSchema = z.looseObject({
  data: StringMap.optional(),
  stringData: StringMap.optional(),
  type: z.string().optional(),
  immutable: z.boolean().optional(),
});
export type Secret = KObject & z.infer<typeof SecretSchema>;

export const NodeSchema = z.looseObject({
  spec: z
    .looseObject({
      unschedulable: z.boolean().optional(),
      podCIDR: z.string().optional(),
      taints: z.array(z.looseObject({ key: z.string(), effect: z.string(), value: z.string().optional() })).optional(),
    })
    .optional(),
  status: z
    .looseObject({
      capacity: QuantityMap.optional(),
      allocatable: QuantityMap.optional(),
    })
    .optional(),
});
export type Node = KObject &
  z.infer<typeof NodeSchema> & {
    status?: {
      capacity?: Record<string, string>;
      allocatable?: Record<string, string>;
      conditions?: Condition[];
      addresses?: { type: string; address: string }[];
      nodeInfo?: Record<string, string>;
    };
  };

export const ResourceQuotaSchema = z.looseObject({
  spec: z.looseObject({ hard: QuantityMap.optional() }).optional(),
});
export type ResourceQuota = KObject & z.infer<typeof ResourceQuotaSchema> & { status?: { hard?: Record<string, string>; used?: Record<string, string> } };

export interface CoreEvent extends KObject {
  involvedObject: { kind: string; namespace?: string; name: string; uid: string; apiVersion: string; resourceVersion?: string; fieldPath?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  eventTime: null;
  reportingComponent: string;
  reportingInstance: string;
}

export type Namespace = KObject & { status?: { phase?: string } };
