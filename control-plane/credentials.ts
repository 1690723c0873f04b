// Credentials of the local control plane, made fresh for each start and written
// with mode 0600 under its directory: the API server's serving certificate (also
// the kubeconfigs' CA), the service-account signing key, and one bearer token per
// component in a token file (admin, controller manager, scheduler, kwok, node
// agent). The incident worker gets no static token: it runs with a token of the
// `incident-worker` ServiceAccount, bound to deploy/kubernetes/rbac.yaml.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { writeKubeconfig } from '../sandbox/kubeconfig.js';
import { selfSignedCertificate } from '../sandbox/tls.js';

export interface Credentials {
  readonly tokens: { admin: string; controllerManager: string; scheduler: string; kwok: string; nodeAgent: string };
  readonly caPem: string;
  /** The serving key, for the fault proxy that answers with the same certificate. */
  readonly servingKeyPem: string;
  readonly files: {
    servingCert: string;
    servingKey: string;
    serviceAccountKey: string;
    serviceAccountPublicKey: string;
    tokens: string;
    adminKubeconfig: string;
    controllerManagerKubeconfig: string;
    schedulerKubeconfig: string;
    kwokKubeconfig: string;
  };
  /** GET with the admin token, trusting only this control plane's CA. */
  get(url: string): Promise<{ status: number; body: string }>;
}

const secret = (path: string, text: string) => writeFileSync(path, text, { mode: 0o600 });

/** The kubeconfigs' cluster and context name. */
export const clusterName = 'local';

export function makeCredentials(dir: string, server: string): Credentials {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const token = () => randomBytes(32).toString('base64url');
  const tokens = { admin: token(), controllerManager: token(), scheduler: token(), kwok: token(), nodeAgent: token() };
  const serving = selfSignedCertificate([], 'incident-response-control-plane');
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files = {
    servingCert: join(pki, 'apiserver.crt'),
    servingKey: join(pki, 'apiserver.key'),
    serviceAccountKey: join(pki, 'service-account.key'),
    serviceAccountPublicKey: join(pki, 'service-account.pub'),
    tokens: join(pki, 'tokens.csv'),
    adminKubeconfig: join(dir, 'kubeconfig'),
    controllerManagerKubeconfig: join(pki, 'controller-manager.kubeconfig'),
    schedulerKubeconfig: join(pki, 'scheduler.kubeconfig'),
    kwokKubeconfig: join(pki, 'kwok.kubeconfig'),
  };
  secret(files.servingCert, serving.cert);
  secret(files.servingKey, serving.key);
  secret(files.serviceAccountKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  secret(files.serviceAccountPublicKey, sa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // token,user,uid,"groups": the users the bootstrap RBAC policy already knows, and admins.
  secret(
    files.tokens,
    [
      `${tokens.admin},admin,admin,"system:masters"`,
      `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager`,
      `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
      `${tokens.kwok},kwok,kwok,"system:masters"`,
      `${tokens.nodeAgent},node-agent,node-agent,"system:masters"`,
      '',
    ].join('\n'),
  );
  writeKubeconfig(files.adminKubeconfig, server, tokens.admin, serving.cert, clusterName, 'admin');
  writeKubeconfig(files.controllerManagerKubeconfig, server, tokens.controllerManager, serving.cert, clusterName);
  writeKubeconfig(files.schedulerKubeconfig, server, tokens.scheduler, serving.cert, clusterName);
  writeKubeconfig(files.kwokKubeconfig, server, tokens.kwok, serving.cert, clusterName);
  const get = (url: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { ca: serving.cert, headers: { Authorization: `Bearer ${tokens.admin}` }, timeout: 2_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 2 s`)));
      req.on('error', reject);
      req.end();
    });
  return { tokens, caPem: serving.cert, servingKeyPem: serving.key, files, get };
}
