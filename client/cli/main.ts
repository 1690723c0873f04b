// `incident`: the on-call engineer's command line. Every command takes a full
// workflow ID (incident/<cluster>/<namespace>/<deployment>) or a short incident
// number (INC-123456 or 123456); `--json` prints machine-readable output.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ClientConfigError, historyKeyRing, loadClientConfig } from '../config.js';
import { HistoryDecryptionError } from '../../codec/encryption-codec.js';
import { buildCodecServer } from '../../codec/codec-server.js';
import { newHistoryKey } from '../../codec/history-keys.js';
import { WorkerDeployments, type DeploymentReport } from '../deployments.js';
import { Governors, governorView } from '../governor.js';
import { IncidentNotFound, Incidents, InvalidRequest, hotfixRequest } from '../incidents.js';
import { incidentTable, incidentView, majorView, tasksView, timelineLine, workflowUrl } from './render.js';
import { majorIncidentIdFrom } from '../../workflows/messages.js';
import { KeyIdSchema, newSigningKey } from '../../workflows/decision-signature.js';
import { DecisionsApiError, decideThroughApi } from './decisions-api.js';

const uiBase = process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233';
const defaultActor = process.env.INCIDENT_USER ?? userInfo().username;

/** Where `npm start` keeps the keys its local histories are encrypted with (local-stack/start.ts). */
const localStackHistoryKeys = '.data/history-keys';

/**
 * The environment, plus the local stack's history keys when none are configured, this is the
 * checkout `npm start` ran in, and Temporal is the local one: pointed elsewhere, the CLI would
 * seal its signals with a key that deployment's workers do not have.
 */
function cliEnvironment(): NodeJS.ProcessEnv {
  if (process.env.INCIDENT_HISTORY_KEYS || process.env.INCIDENT_HISTORY_KEYS_FILE || !existsSync(localStackHistoryKeys)) return process.env;
  const host = (process.env.TEMPORAL_ADDRESS ?? 'localhost:7233').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (!['localhost', '127.0.0.1', '::1'].includes(host)) return process.env;
  return { ...process.env, INCIDENT_HISTORY_KEYS_FILE: localStackHistoryKeys };
}

let incidents: Incidents | undefined;
async function connect(): Promise<Incidents> {
  incidents ??= await Incidents.connect(loadClientConfig(cliEnvironment()));
  return incidents;
}

const print = (json: boolean, value: unknown, text: () => string) => {
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : text()}\n`);
};

const asOption = () => new Option('--as <name>', 'who you are (recorded on the incident)').default(defaultActor);

const program = new Command('incident').description('Work with durable incidents: list, inspect, approve, signal, follow up').showHelpAfterError();

program
  .command('list')
  .description('incidents, newest first')
  .option('--open', 'only open incidents')
  .option('--limit <n>', 'at most this many', '50')
  .option('--json', 'JSON output')
  .action(async (o: { open?: boolean; limit: string; json?: boolean }) => {
    const rows = await (await connect()).list({ open: o.open, limit: Number(o.limit) });
    print(Boolean(o.json), rows, () => incidentTable(rows));
  });

program
  .command('show <id>')
  .description('what the incident is doing: phase, diagnosis, pending approval, actions, timeline; MAJOR-… shows a major incident and its children')
  .option('--json', 'JSON output')
  .action(async (id: string, o: { json?: boolean }) => {
    if (majorIncidentIdFrom(id)) {
      const major = await (await connect()).majorStatus(id);
      print(Boolean(o.json), major, () => majorView(major, workflowUrl(uiBase, loadClientConfig().TEMPORAL_NAMESPACE, major.majorId)));
      return;
    }
    const status = await (await connect()).status(id);
    print(Boolean(o.json), status, () => incidentView(status, workflowUrl(uiBase, loadClientConfig().TEMPORAL_NAMESPACE, status.incidentId)));
  });

program
  .command('watch <id>')
  .description('follow the timeline live until the incident is resolved (Ctrl-C to stop watching)')
  .option('--interval <ms>', 'poll interval', '1000')
  .action(async (id: string, o: { interval: string }) => {
    const gateway = await connect();
    let shown = 0;
    let lastPending: number | undefined;
    for (;;) {
      const s = await gateway.status(id);
      const total = s.timeline.length + s.timelineOmitted;
      for (const entry of s.timeline.slice(Math.max(0, s.timeline.length - (total - shown)))) process.stdout.write(`${timelineLine(entry)}\n`);
      shown = total;
      if (s.pendingApproval && s.pendingApproval.action !== lastPending) {
        lastPending = s.pendingApproval.action;
        process.stdout.write(
          `  → approve: incident approve ${s.incidentNumber ? `INC-${s.incidentNumber}` : s.incidentId} --action ${s.pendingApproval.action}\n`,
        );
      }
      if (s.phase === 'resolved') return;
      await new Promise((r) => setTimeout(r, Number(o.interval)));
    }
  });

for (const decision of ['approve', 'reject'] as const) {
  program
    .command(`${decision} <id>`)
    .description(
      `${decision} the action awaiting approval (validated: unknown or decided actions and unlisted approvers are refused); ` +
        "with INCIDENT_API_URL set, through the receiver's decisions API as the person INCIDENT_API_TOKEN names (signed decisions)",
    )
    .addOption(asOption())
    .option('--action <n>', 'the action number (default: the one awaiting approval)')
    .option('--comment <text>', 'why')
    .option('--json', 'JSON output')
    .action(async (id: string, o: { as: string; action?: string; comment?: string; json?: boolean }) => {
      const action = o.action ? Number(o.action) : undefined;
      const config = loadClientConfig();
      // Through the API the token says who you are (--as is not used); straight to Temporal, --as does.
      const outcome = config.INCIDENT_API_URL
        ? await decideThroughApi({ url: config.INCIDENT_API_URL, token: config.INCIDENT_API_TOKEN }, { incident: id, decision, action, comment: o.comment })
        : await (await connect()).decide(id, decision, o.as, { action, comment: o.comment });
      print(Boolean(o.json), outcome, () =>
        outcome.needs
          ? `action #${outcome.action} approved by ${outcome.by}, not applied yet: ${outcome.needs}`
          : `action #${outcome.action} ${outcome.approved ? 'approved' : 'rejected'} by ${outcome.by}: ${outcome.command}`,
      );
    });
}

program
  .command('hotfix <id>')
  .description(
    "propose a hotfix image (runbook: kubectl set image deployment/X agent-manager=IMAGE): the incident dry-runs it and asks for approval ('incident approve')",
  )
  .addOption(asOption())
  .requiredOption('--image <ref>', 'the image, pinned by tag or digest (e.g. registry.example.com/agent-native-framework:hotfix-v1.0.1)')
  .option('--container <name>', "the container to change (default: the deployment's first)")
  .option('--comment <text>', 'what the hotfix fixes')
  .option('--json', 'JSON output')
  .action(async (id: string, o: { as: string; image: string; container?: string; comment?: string; json?: boolean }) => {
    const options = { ...(o.container ? { container: o.container } : {}), ...(o.comment ? { comment: o.comment } : {}) };
    // Checked before anything is sent: a bad reference never reaches the incident.
    hotfixRequest(o.as, o.image, options);
    const outcome = await (await connect()).proposeHotfix(id, o.as, o.image, options);
    print(
      Boolean(o.json),
      outcome,
      () => `hotfix ${outcome.container ? `${outcome.container}=` : ''}${outcome.image} from ${outcome.by}: proposed ${outcome.next}`,
    );
  });

program
  .command('ack <id>')
  .description('acknowledge the page (stops nothing; shows who is on it)')
  .addOption(asOption())
  .action(async (id: string, o: { as: string }) => {
    await (await connect()).acknowledge(id, o.as);
    process.stdout.write(`acknowledged by ${o.as}\n`);
  });

program
  .command('note <id> <text...>')
  .description('add a note to the timeline')
  .addOption(asOption())
  .action(async (id: string, text: string[], o: { as: string }) => {
    await (await connect()).note(id, o.as, text.join(' '));
    process.stdout.write('note added\n');
  });

program
  .command('escalate <id>')
  .description('page the next level now')
  .addOption(asOption())
  .requiredOption('--reason <text>', 'why')
  .option('--level <n>', 'page this level (1-3) instead of the next')
  .action(async (id: string, o: { as: string; reason: string; level?: string }) => {
    await (await connect()).escalate(id, o.as, o.reason, o.level ? Number(o.level) : undefined);
    process.stdout.write('escalation requested\n');
  });

program
  .command('resolve <id>')
  .description('close the incident by hand (starts the post-incident follow-up)')
  .addOption(asOption())
  .option('--reason <text>', 'why')
  .action(async (id: string, o: { as: string; reason?: string }) => {
    await (await connect()).resolve(id, o.as, o.reason);
    process.stdout.write('resolve requested\n');
  });

program
  .command('tasks [id]')
  .description('open post-incident tasks (24 h, 1 week, 1 month), of one incident or all')
  .option('--json', 'JSON output')
  .action(async (id: string | undefined, o: { json?: boolean }) => {
    const lists = await (await connect()).tasks(id);
    print(Boolean(o.json), lists, () => tasksView(lists));
  });

program
  .command('task')
  .description('post-incident task commands')
  .command('done <postIncidentWorkflowId> <taskId>')
  .description("mark a post-incident task done ('incident tasks' lists both IDs)")
  .addOption(asOption())
  .option('--note <text>', 'what was done')
  .action(async (workflowId: string, taskId: string, o: { as: string; note?: string }) => {
    await (await connect()).completeTask(workflowId, taskId, o.as, o.note);
    process.stdout.write(`task ${taskId} marked done by ${o.as}\n`);
  });

program
  .command('trigger')
  .description('open an incident by hand, as an alert would')
  .requiredOption('--namespace <ns>', 'Kubernetes namespace')
  .requiredOption('--deployment <name>', 'deployment')
  .option('--cluster <name>', 'cluster (default: DEFAULT_CLUSTER)')
  .addOption(new Option('--severity <level>', 'severity').choices(['critical', 'error', 'warning', 'info']).default('critical'))
  .option('--summary <text>', 'what is wrong')
  .addOption(asOption())
  .action(
    async (o: {
      namespace: string;
      deployment: string;
      cluster?: string;
      severity: 'critical' | 'error' | 'warning' | 'info';
      summary?: string;
      as: string;
    }) => {
      const gateway = await connect();
      const service = { cluster: o.cluster ?? loadClientConfig().DEFAULT_CLUSTER, namespace: o.namespace, deployment: o.deployment };
      const startsAt = new Date().toISOString();
      const workflowId = await gateway.open(service, {
        name: 'ServiceDown',
        severity: o.severity,
        summary: o.summary ?? `${o.deployment} in ${o.namespace} reported down by ${o.as}`,
        labels: { triggeredBy: o.as },
        startsAt,
        fingerprint: `manual/${service.cluster}/${service.namespace}/${service.deployment}/${startsAt}`,
      });
      process.stdout.write(`${workflowId}\n${workflowUrl(uiBase, loadClientConfig().TEMPORAL_NAMESPACE, workflowId)}\n`);
    },
  );

// --- The remediation governor (one per cluster): freezes and its view ---

const governors = async () => {
  const c = await connect();
  return new Governors(c.client, loadClientConfig().TEMPORAL_TASK_QUEUE);
};

program
  .command('freeze')
  .description('freeze changes: incidents in the cluster (or the namespace) are refused a change lease until it ends')
  .requiredOption('--cluster <cluster>', 'the cluster')
  .option('--namespace <namespace>', 'only this namespace')
  .requiredOption('--for <duration>', 'how long, e.g. 2h')
  .requiredOption('--reason <text>', 'why (shown on every refused incident)')
  .addOption(asOption())
  .option('--json', 'JSON output')
  .action(async (o: { cluster: string; namespace?: string; for: string; reason: string; as: string; json?: boolean }) => {
    const status = await (await governors()).freeze(o.cluster, { by: o.as, for: o.for, reason: o.reason, ...(o.namespace ? { namespace: o.namespace } : {}) });
    print(Boolean(o.json), status, () => governorView(status));
  });

program
  .command('unfreeze')
  .description('end a manual freeze of the cluster (or of the namespace)')
  .requiredOption('--cluster <cluster>', 'the cluster')
  .option('--namespace <namespace>', 'the namespace frozen on its own')
  .addOption(asOption())
  .option('--json', 'JSON output')
  .action(async (o: { cluster: string; namespace?: string; as: string; json?: boolean }) => {
    const status = await (await governors()).unfreeze(o.cluster, { by: o.as, ...(o.namespace ? { namespace: o.namespace } : {}) });
    print(Boolean(o.json), status, () => governorView(status));
  });

program
  .command('governor')
  .description("the cluster's change governor: leases held, budget used, requests waiting, freezes and cooldowns")
  .option('--cluster <cluster>', 'one cluster (default: every cluster with a governor)')
  .option('--json', 'JSON output')
  .action(async (o: { cluster?: string; json?: boolean }) => {
    const g = await governors();
    const clusters = o.cluster ? [o.cluster] : await g.clusters();
    const views = (await Promise.all(clusters.map(async (c) => ({ cluster: c, status: await g.status(c) })))).filter((v) => v.status);
    print(
      Boolean(o.json),
      views.map((v) => v.status),
      () =>
        views.length === 0
          ? `no governor running${o.cluster ? ` for cluster ${o.cluster}` : ''} (one starts with the first change or freeze)`
          : views.map((v) => (v.status ? governorView(v.status) : '')).join('\n\n'),
    );
  });

// --- Deploys: the worker's Temporal Worker Deployment (README, "Deploying a new worker version") ---

const deploymentName = process.env.WORKER_DEPLOYMENT_NAME ?? 'incident-response';
const deployments = async () => new WorkerDeployments((await connect()).client, deploymentName);

function deploymentTable(r: DeploymentReport | undefined): string {
  if (!r) return `no worker deployment '${deploymentName}' yet: no worker with WORKER_BUILD_ID set has polled (workers are unversioned)`;
  const rows = r.versions.map(
    (v) => `${v.buildId.padEnd(24)} ${v.status.padEnd(9)} ${String(v.incidents).padStart(9)} ${String(v.followUps).padStart(10)}  ${v.drained ? 'yes' : 'no'}`,
  );
  return [
    `deployment ${r.name}: current ${r.current ?? '(unversioned workers)'}`,
    `${'build'.padEnd(24)} ${'status'.padEnd(9)} incidents follow-ups  drained`,
    ...rows,
    `unversioned runs: ${r.unversioned.incidents} incident(s), ${r.unversioned.followUps} follow-up(s)`,
    'incidents are pinned to their build; follow-ups shown on an old build move to the current one at their next step',
  ].join('\n');
}

const deploy = program.command('deploy').description(`worker builds of the deployment '${deploymentName}' (WORKER_DEPLOYMENT_NAME): status, promote, drained`);

deploy
  .command('status')
  .description('builds, which one is current, open incidents and follow-ups on each, and which are drained')
  .option('--json', 'JSON output')
  .action(async (o: { json?: boolean }) => {
    const report = await (await deployments()).describe();
    print(Boolean(o.json), report ?? null, () => deploymentTable(report));
  });

deploy
  .command('promote <buildId>')
  .description('make a build current: new incidents start on it and open follow-ups move to it; open incidents stay on their build')
  .option('--wait <seconds>', "wait this long for the build's workers to poll", '30')
  .action(async (buildId: string, o: { wait: string }) => {
    await (await deployments()).promote(buildId, Number(o.wait) * 1000);
    process.stdout.write(`${deploymentName}:${buildId} is current\n`);
  });

deploy
  .command('drained <buildId>')
  .description('whether a build can be stopped: not current and no open incident pinned to it (exit code 3 while not)')
  .option('--json', 'JSON output')
  .action(async (buildId: string, o: { json?: boolean }) => {
    const answer = await (await deployments()).drained(buildId);
    print(Boolean(o.json), answer, () => answer.reason);
    if (!answer.drained) process.exitCode = 3;
  });

program
  .command('repropose <id>')
  .description('propose again an action whose approval expired (from L2 on): the incident looks again, dry-runs it and asks for approval')
  .addOption(asOption())
  .requiredOption('--action <n>', 'the expired action')
  .option('--comment <text>', 'why now')
  .option('--json', 'JSON output')
  .action(async (id: string, o: { as: string; action: string; comment?: string; json?: boolean }) => {
    const outcome = await (await connect()).repropose(id, o.as, Number(o.action), o.comment);
    print(Boolean(o.json), outcome, () => `#${outcome.action} (${outcome.command}) proposed again by ${outcome.by}: ${outcome.next}`);
  });

program
  .command('keygen')
  .description("a new signing key for the receiver's decisions API, and the public key every worker needs to count its decisions")
  .option('--key-id <id>', 'a name for the key (rotate by adding a new one to the workers first)', `receiver-${new Date().toISOString().slice(0, 10)}`)
  .action((o: { keyId: string }) => {
    const id = KeyIdSchema.parse(o.keyId);
    const { secretKey, publicKey } = newSigningKey();
    process.stdout.write(
      `# the receiver only (a secret: keep it in your secret store)\nDECISION_SIGNING_KEY=${id}:${secretKey}\n` +
        `# every worker (public; several are comma-separated)\nINCIDENT_DECISION_KEYS=${id}=${publicKey}\n`,
    );
  });

program
  .command('token <name>')
  .description("a new personal token for the receiver's decisions API: the person keeps the token, the receiver only its hash (APPROVER_TOKENS)")
  .action((name: string) => {
    if (!/^[^=,\s]{1,200}$/.test(name)) throw new InvalidRequest(`'${name}' is not a name without '=', ',' or spaces`);
    const token = randomBytes(32).toString('base64url');
    process.stdout.write(
      `# ${name} only (a secret)\nINCIDENT_API_TOKEN=${token}\n` +
        `# the receiver: add to APPROVER_TOKENS (comma-separated)\n${name}=sha256:${createHash('sha256').update(token).digest('hex')}\n`,
    );
  });

program
  .command('history-key')
  .description('a new key to encrypt incident histories with (INCIDENT_HISTORY_KEYS, the same on every worker, receiver and CLI)')
  .option(
    '--key-id <id>',
    'a name for the key, at most 32 characters (to rotate: add it after the current key everywhere, then move it first; README, "Encrypted history")',
  )
  .action((o: { keyId?: string }) => {
    const entry = newHistoryKey(o.keyId);
    process.stdout.write(
      `# every worker, receiver, CLI and codec server (a secret; the first key encrypts, all listed decrypt)\nINCIDENT_HISTORY_KEYS=${entry}\n`,
    );
  });

program
  .command('codec-server')
  .description('serve /decode and /encode for the Temporal Web UI (its codec endpoint), so people read encrypted incident histories there')
  .option('--host <host>', 'where to listen (loopback unless asked: it opens any history for whoever reaches it)', '127.0.0.1')
  .option('--port <port>', 'port', '8097')
  .option('--origin <url...>', "the Web UI's origin(s), the only pages answered", [uiBase])
  .action(async (o: { host: string; port: string; origin: string[] }) => {
    const config = loadClientConfig(cliEnvironment());
    const ring = historyKeyRing(config);
    if (!ring) throw new ClientConfigError('INCIDENT_HISTORY_KEYS (or INCIDENT_HISTORY_KEYS_FILE) is not set: there is nothing to decode with');
    const app = await buildCodecServer({ ring, origins: o.origin, namespaces: [config.TEMPORAL_NAMESPACE] });
    const address = await app.listen({ host: o.host, port: Number(o.port) });
    process.stdout.write(
      `codec server on ${address} for ${o.origin.join(', ')} (keys ${[...ring.keys.keys()].join(', ')}): start the UI with --ui-codec-endpoint ${address}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await app.close();
  });

/** One line that says what went wrong and what to do. */
function explain(err: unknown): string {
  if (err instanceof HistoryDecryptionError) return `${err.message} (npm start keeps its key in ${localStackHistoryKeys})`;
  if (err instanceof ClientConfigError || err instanceof IncidentNotFound || err instanceof InvalidRequest || err instanceof DecisionsApiError)
    return err.message;
  if (err instanceof WorkflowNotFoundError) return `no such incident: ${err.workflowId ?? ''} ('incident list' shows the known ones)`;
  if (err instanceof WorkflowUpdateFailedError) return `refused: ${err.cause instanceof Error ? err.cause.message : err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  if (/connect|UNAVAILABLE|ECONNREFUSED|deadline/i.test(message)) {
    return `cannot reach Temporal at ${process.env.TEMPORAL_ADDRESS ?? 'localhost:7233'}: is it running? ('npm start' runs a local one) (${message})`;
  }
  return message;
}

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`incident: ${explain(err)}\n`);
  process.exitCode = 1;
} finally {
  await incidents?.close();
}
