import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import request from 'supertest';
import { parse, parseAllDocuments } from 'yaml';
import { opencodeModels } from '@jelmore/providers';
import { ConfigError, loadConfig } from '../apps/server/src/config/jelmore.config';
import { startTestServer, TestServer } from './support/app';

/*
 * No Docker engine or Kubernetes cluster runs in CI: the deployment files are parsed, the Kubernetes
 * objects schema-checked (kubernetes-models), and what ties them to the app asserted here. None of them
 * is run by this test.
 */
const ROOT = join(__dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Parsed YAML, untyped like JSON.parse's result: the assertions are what check its shape. */
type Json = ReturnType<typeof JSON.parse>;

/** `${VAR}`, `${VAR:-default}` and `${VAR:?error}` as compose fills them from the sample values. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_, name: string, op, rest: string) => {
    if (vars[name] !== undefined) return vars[name];
    if (op === '?') throw new Error(`compose would stop: ${rest}`);
    return op === '-' ? rest : '';
  });
}

/** The environment Dockerfile ENV lines set, which compose and Kubernetes add to. */
function dockerfileEnv(dockerfile: string): Record<string, string> {
  const env: Record<string, string> = {};
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  for (const match of runtime.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const pair of match[1].matchAll(/(\w+)=(\S+)/g)) env[pair[1]] = pair[2];
  }
  return env;
}

const SAMPLE = {
  JELMORE_API_KEYS: 'ops:0123456789abcdef0123:admin',
  POSTGRES_PASSWORD: 'sample-password',
  ANTHROPIC_API_KEY: 'sample',
};

/** Runs test/support/k8s-validate.mjs (kubernetes-models is import-only, Jest is CommonJS). */
function schemaCheck(
  objects: Json[],
): Array<{ kind: string; name: string; ok: boolean; error?: string }> {
  const out = execFileSync(process.execPath, [join(__dirname, 'support', 'k8s-validate.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(objects),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('deployment files', () => {
  const dockerfile = read('deploy/Dockerfile');
  const imageEnv = dockerfileEnv(dockerfile);
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const haproxy = read('deploy/haproxy.cfg');
  const k8sFiles = readdirSync(join(ROOT, 'deploy/k8s')).filter((f) => f.endsWith('.yaml'));
  const kustomization = parse(read('deploy/k8s/kustomization.yaml'));
  const objects = k8sFiles
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(read(`deploy/k8s/${f}`)).map((doc) => ({
        file: f,
        object: doc.toJS(),
      })),
    );
  const k8s = (kind: string, name?: string) => {
    const found = objects.filter(
      (o) => o.object.kind === kind && (!name || o.object.metadata.name === name),
    );
    expect(found.length).toBeGreaterThan(0);
    return found[0].object;
  };

  describe('Dockerfile', () => {
    it('runs the entry file that `npm run build` writes, as package.json start does', () => {
      const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]) as string[];
      const workdir = /^WORKDIR (\S+)$/gm.exec(
        dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')),
      )!;
      expect(workdir[1]).toBe('/app');
      expect(cmd[0]).toBe('node');
      const pkg = JSON.parse(read('package.json'));
      expect(pkg.scripts.start).toBe(`node ${cmd[1]}`);
      expect(pkg.scripts.build).toBe('nest build server');
      // test:e2e builds before it runs the suites; the image copies dist/ as built.
      if (!existsSync(join(ROOT, cmd[1]))) {
        throw new Error(
          `${cmd[1]} is missing: run \`npm run build\` (test:e2e does) before this test`,
        );
      }
      expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    });

    it('copies every input of the build and runs as the non-root node user', () => {
      for (const input of ['nest-cli.json', 'tsconfig.json', 'tsconfig.build.json']) {
        expect(dockerfile).toMatch(new RegExp(`^COPY .*\\b${input.replace('.', '\\.')}\\b`, 'm'));
      }
      expect(dockerfile).toMatch(/^COPY apps \.\/apps$/m);
      expect(dockerfile).toMatch(/^COPY libs \.\/libs$/m);
      expect(dockerfile).toMatch(/^USER node$/m);
      // Volumes mounted on these start owned by node, the shared agents' home included.
      expect(dockerfile).toMatch(/mkdir -p \/app\/data\/agents\/claude \/app\/workspace/);
      expect(imageEnv).toMatchObject({ JELMORE_HOST: '0.0.0.0', JELMORE_PORT: '3000' });
      expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${imageEnv.JELMORE_PORT}$`, 'm'));
    });
  });

  describe('docker-compose.yml', () => {
    const nodes = ['jelmore-1', 'jelmore-2'];
    const env = (service: string) =>
      compose.services[service].environment as Record<string, string>;
    const nodeEnv = (service: string) => ({
      ...imageEnv,
      ...Object.fromEntries(
        Object.entries(env(service)).map(([k, v]) => [k, interpolate(String(v), SAMPLE)]),
      ),
    });

    it('has two app nodes, PostgreSQL, Redis, NATS with JetStream and a load balancer', () => {
      // A plain `docker compose up` starts the services that belong to no profile.
      const cluster = Object.keys(compose.services).filter((s) => !compose.services[s].profiles);
      expect(cluster.sort()).toEqual(
        ['jelmore-1', 'jelmore-2', 'lb', 'nats', 'postgres', 'redis'].sort(),
      );
      expect(compose.services.nats.command).toContain('-js');
      for (const node of nodes) {
        expect(compose.services[node].build.dockerfile).toBe('deploy/Dockerfile');
        expect(Object.keys(compose.services[node].depends_on).sort()).toEqual([
          'nats',
          'postgres',
          'redis',
        ]);
      }
    });

    it('points both nodes at the same PostgreSQL, Redis and NATS, each with its own node id', () => {
      const [a, b] = nodes.map(nodeEnv);
      for (const key of ['JELMORE_DATABASE_URL', 'JELMORE_REDIS_URL', 'JELMORE_NATS_URL']) {
        expect(a[key]).toBeDefined();
        expect(a[key]).toBe(b[key]);
      }
      expect(a.JELMORE_NODE_ID).not.toBe(b.JELMORE_NODE_ID);
      // The hosts are the compose services, on their default ports.
      expect(new URL(a.JELMORE_DATABASE_URL).host).toBe('postgres:5432');
      expect(new URL(a.JELMORE_DATABASE_URL).pathname).toBe(
        `/${compose.services.postgres.environment.POSTGRES_DB}`,
      );
      expect(new URL(a.JELMORE_DATABASE_URL).username).toBe(
        compose.services.postgres.environment.POSTGRES_USER,
      );
      expect(new URL(a.JELMORE_REDIS_URL).host).toBe('redis:6379');
      expect(new URL(a.JELMORE_NATS_URL).host).toBe('nats:4222');
    });

    it('requires API keys and a database password, and each node configuration passes validation', () => {
      for (const node of nodes) {
        expect(() => interpolate(env(node).JELMORE_API_KEYS, {})).toThrow(/JELMORE_API_KEYS/);
        expect(() => interpolate(env(node).JELMORE_DATABASE_URL, {})).toThrow(/POSTGRES_PASSWORD/);
        const config = loadConfig(nodeEnv(node));
        expect(config.apiKeys).toHaveLength(1);
        expect(config.natsUrl).toBe('nats://nats:4222');
        expect(config.host).toBe('0.0.0.0');
      }
    });

    it('shares the Claude agents home and the workspace between the nodes, nothing else', () => {
      const mounts = (node: string) =>
        new Map(
          (compose.services[node].volumes as string[]).map((v) => {
            const [source, target] = v.split(':');
            return [target, source];
          }),
        );
      const [a, b] = nodes.map(mounts);
      const { dataDir, workspaceRoot } = loadConfig(nodeEnv('jelmore-1'));
      // The Claude provider's HOME: <data_dir>/agents/claude.
      const claudeHome = posix.join(dataDir, 'agents/claude');
      expect(a.get(claudeHome)).toBeDefined();
      expect(a.get(claudeHome)).toBe(b.get(claudeHome));
      expect(a.get(workspaceRoot)).toBeDefined();
      expect(a.get(workspaceRoot)).toBe(b.get(workspaceRoot));
      expect(a.get(dataDir)).toBeDefined();
      expect(a.get(dataDir)).not.toBe(b.get(dataDir));
      for (const source of [...a.values(), ...b.values()]) {
        expect(Object.keys(compose.volumes)).toContain(source);
      }
    });

    it('gives a node longer than its own shutdown bound before SIGKILL', () => {
      for (const node of nodes) {
        const grace = Number(nodeEnv(node).JELMORE_SHUTDOWN_GRACE_SECONDS);
        expect(grace).toBeGreaterThan(0);
        expect(parseInt(compose.services[node].stop_grace_period, 10)).toBeGreaterThan(grace);
      }
    });

    it('balances to both nodes on their port, with health checks, Socket.IO sticky', () => {
      const lb = compose.services.lb;
      const [mount] = (lb.volumes as string[]).filter((v) => v.includes('haproxy.cfg'));
      expect(mount.split(':')[0]).toBe('./deploy/haproxy.cfg');
      const published = (lb.ports as string[])[0].split(':');
      const bind = /^\s*bind :(\d+)$/m.exec(haproxy)![1];
      expect(published.at(-1)).toBe(bind);
      const servers = [...haproxy.matchAll(/^\s*server (\S+) (\S+):(\d+) check/gm)];
      expect(servers.length).toBe(4);
      for (const [, , host, port] of servers) {
        expect(nodes).toContain(host);
        expect(port).toBe(nodeEnv(host).JELMORE_PORT);
      }
      expect([...haproxy.matchAll(/http-check send meth GET uri (\S+)/g)].map((m) => m[1])).toEqual(
        ['/health/ready', '/health/ready'],
      );
      expect(haproxy).toMatch(/acl socketio path_beg \/socket\.io\//);
      expect(haproxy).toMatch(/cookie JELMORE_NODE insert/);
    });
  });

  describe('docker-compose.yml, profile local (OpenCode on Ollama)', () => {
    const services = compose.services as Record<string, Json>;
    const local = services['jelmore-local'];
    /** The node's configuration as the server reads it, the mounted config file read from the repo. */
    const localConfig = () => {
      const env: Record<string, string> = {
        ...imageEnv,
        ...Object.fromEntries(
          Object.entries(local.environment as Record<string, string>).map(([k, v]) => [
            k,
            interpolate(String(v), SAMPLE),
          ]),
        ),
      };
      const mount = (local.volumes as string[]).find((v) => v.split(':')[1] === env.JELMORE_CONFIG);
      expect(mount).toBeDefined();
      return loadConfig({ ...env, JELMORE_CONFIG: join(ROOT, mount!.split(':')[0]) });
    };

    it('holds one node, Ollama and the model pull, none started without the profile', () => {
      const profiled = Object.keys(services).filter((s) => services[s].profiles);
      expect(profiled.sort()).toEqual(['jelmore-local', 'ollama', 'ollama-pull']);
      for (const name of profiled) expect(services[name].profiles).toEqual(['local']);
      expect(services.ollama.image).toMatch(/^ollama\/ollama/);
      expect(services['ollama-pull'].image).toBe(services.ollama.image);
      expect(local.build.dockerfile).toBe('deploy/Dockerfile');
      // SQLite: no PostgreSQL, Redis or NATS to wait for, only the pulled models.
      expect(local.depends_on).toEqual({
        'ollama-pull': { condition: 'service_completed_successfully' },
      });
      expect(services['ollama-pull'].depends_on).toEqual({
        ollama: { condition: 'service_healthy' },
      });
      const published = (local.ports as string[]).map((p) => p.split(':').at(-2));
      const lbPorts = (services.lb.ports as string[]).map((p) => p.split(':').at(-2));
      expect(published.filter((p) => lbPorts.includes(p))).toEqual([]);
    });

    it('points opencode at Ollama with the file’s models, and pulls exactly those', () => {
      const config = localConfig();
      expect(config.databaseUrl).toMatch(/^sqlite:/);
      expect(config.defaultProvider).toBe('opencode');
      // Ollama's OpenAI-compatible API, on its default port, at the service's name.
      expect(new URL(config.opencode.baseUrl!).host).toBe('ollama:11434');
      expect(new URL(config.opencode.baseUrl!).pathname).toBe('/v1');
      const models = opencodeModels(config.opencode.models);
      const ids = models.map((m) => m.id);
      expect(ids).toContain('qwen2.5-coder:7b');
      expect(ids).toContain(config.opencode.defaultModel);
      for (const model of models) {
        expect(model).toMatchObject({ inputPricePerMTok: 0, outputPricePerMTok: 0 });
        // Ollama serves the window it is started with, whatever a request asks for.
        expect(model.contextWindow).toBe(Number(services.ollama.environment.OLLAMA_CONTEXT_LENGTH));
      }
      const [bin, verb, ...pulled] = services['ollama-pull'].entrypoint as string[];
      expect([bin, verb]).toEqual(['ollama', 'pull']);
      expect(pulled.sort()).toEqual([...ids].sort());
      expect(services['ollama-pull'].environment.OLLAMA_HOST).toBe(
        new URL(config.opencode.baseUrl!).host,
      );
      expect(config.secretFiles).toContain(join(ROOT, 'deploy/local/jelmore.json'));
    });

    it('keeps its data and workspace in volumes of its own', () => {
      const { dataDir, workspaceRoot } = localConfig();
      const mounts = new Map(
        (local.volumes as string[]).map((v) => [v.split(':')[1], v.split(':')[0]]),
      );
      for (const path of [dataDir, workspaceRoot]) {
        expect(Object.keys(compose.volumes)).toContain(mounts.get(path));
        for (const node of ['jelmore-1', 'jelmore-2']) {
          expect(services[node].volumes).not.toContain(`${mounts.get(path)}:${path}`);
        }
      }
    });
  });

  describe('deploy/k8s', () => {
    /** A pod's configuration as the server reads it: image ENV, ConfigMap, Secret filled in. */
    const podConfig = () =>
      loadConfig({
        ...imageEnv,
        ...k8s('ConfigMap').data,
        ...k8s('Secret').stringData,
        JELMORE_API_KEYS: SAMPLE.JELMORE_API_KEYS,
        JELMORE_DATABASE_URL: 'postgres://jelmore:pw@postgres:5432/jelmore',
        JELMORE_NODE_ID: 'jelmore-5d9f7c-abcde',
      });

    it('lists every manifest in kustomization.yaml but the Secret example', () => {
      expect(kustomization.kind).toBe('Kustomization');
      expect([...kustomization.resources].sort()).toEqual(
        k8sFiles.filter((f) => !['kustomization.yaml', 'secret.example.yaml'].includes(f)).sort(),
      );
      expect(kustomization.images.map((i: Json) => i.name)).toEqual([
        k8s('Deployment').spec.template.spec.containers[0].image,
      ]);
    });

    it('passes the Kubernetes schemas (kubernetes-models), which catch a bad object', () => {
      const results = schemaCheck(objects.map((o) => o.object));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.map((r) => r.kind).sort()).toEqual(
        [
          'ConfigMap',
          'Deployment',
          'Namespace',
          'PersistentVolumeClaim',
          'PersistentVolumeClaim',
          'PodDisruptionBudget',
          'Secret',
          'Service',
        ].sort(),
      );
      const broken = structuredClone(k8s('Deployment'));
      broken.spec.template.spec.containers[0].ports[0].containerPort = '3000';
      broken.spec.replicas = 'two';
      const [result] = schemaCheck([broken]);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/containerPort must be integer|replicas must be integer/);
    });

    it('runs 2+ replicas with probes on our paths and the configured port', () => {
      const deployment = k8s('Deployment');
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(deployment.spec.selector.matchLabels).toEqual(
        expect.objectContaining(deployment.spec.template.metadata.labels),
      );
      const http = container.ports.find((p: Json) => p.name === 'http');
      expect(http.containerPort).toBe(podConfig().port);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.envFrom).toEqual([
        { configMapRef: { name: k8s('ConfigMap').metadata.name } },
        { secretRef: { name: k8s('Secret').metadata.name } },
      ]);
      expect(container.env).toContainEqual({
        name: 'JELMORE_NODE_ID',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      });
    });

    it('waits out the preStop pause and the node’s shutdown bound before SIGKILL', () => {
      const pod = k8s('Deployment').spec.template.spec;
      const config = k8s('ConfigMap').data as Record<string, string>;
      const command = pod.containers[0].lifecycle.preStop.exec.command as string[];
      expect(command[0]).toBe('sleep');
      const pause = Number(command[1]);
      expect(pause).toBeGreaterThan(0);
      const grace = Number(config.JELMORE_SHUTDOWN_GRACE_SECONDS);
      expect(grace).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + grace);
    });

    it('runs as non-root, without privileges, with resources set', () => {
      const pod = k8s('Deployment').spec.template.spec;
      const [container] = pod.containers;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.resources.requests).toEqual(
        expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
      );
      expect(container.resources.limits.memory).toBeDefined();
    });

    it('lets bubblewrap sandbox the agents: a pod user namespace, an unmasked /proc, user namespaces allowed', () => {
      const pod = k8s('Deployment').spec.template.spec;
      const [container] = pod.containers;
      expect(pod.hostUsers).toBe(false);
      expect(container.securityContext).toMatchObject({
        procMount: 'Unmasked',
        seccompProfile: { type: 'Unconfined' },
        appArmorProfile: { type: 'Unconfined' },
      });
      expect(readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8')).toMatch(
        /apt-get install[^\n]*\bbubblewrap\b/,
      );
    });

    it('mounts the Claude agents home and the workspace from ReadWriteMany claims, the rest per pod', () => {
      const { dataDir, workspaceRoot } = podConfig();
      const pod = k8s('Deployment').spec.template.spec;
      const mounts = new Map<string, string>(
        pod.containers[0].volumeMounts.map((m: Json) => [m.mountPath, m.name]),
      );
      const volume = (path: string) => pod.volumes.find((v: Json) => v.name === mounts.get(path));
      // The Claude provider's HOME is <data_dir>/agents/claude.
      for (const path of [posix.join(dataDir, 'agents/claude'), workspaceRoot]) {
        const claim = volume(path).persistentVolumeClaim.claimName;
        expect(k8s('PersistentVolumeClaim', claim).spec.accessModes).toEqual(['ReadWriteMany']);
      }
      expect(volume(dataDir).emptyDir).toBeDefined();
      expect(volume('/tmp').emptyDir).toBeDefined();
    });

    it('selects the pods from the Service and the PodDisruptionBudget', () => {
      const labels = k8s('Deployment').spec.template.metadata.labels;
      const service = k8s('Service');
      expect(labels).toEqual(expect.objectContaining(service.spec.selector));
      expect(service.spec.ports[0].targetPort).toBe('http');
      const pdb = k8s('PodDisruptionBudget');
      expect(labels).toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
      expect(pdb.spec.maxUnavailable).toBe(1);
    });

    it('ships a Secret example without secrets, refused at boot as it is, valid once filled in', () => {
      const secret = k8s('Secret').stringData as Record<string, string>;
      const config = k8s('ConfigMap').data as Record<string, string>;
      for (const value of Object.values(secret)) expect(value).toContain('REPLACE_ME');
      const pod = { ...imageEnv, ...config, JELMORE_NODE_ID: 'jelmore-5d9f7c-abcde' };
      expect(() => loadConfig({ ...pod, ...secret })).toThrow(ConfigError);
      expect(() => loadConfig({ ...pod, ...secret })).toThrow(/JELMORE_API_KEYS/);
      expect(podConfig()).toMatchObject({
        port: 3000,
        host: '0.0.0.0',
        dataDir: '/app/data',
        workspaceRoot: '/app/workspace',
        natsUrl: 'nats://nats:4222',
      });
    });
  });

  describe('the probe paths exist in the app', () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ env: { JELMORE_API_KEYS: SAMPLE.JELMORE_API_KEYS } });
    });

    afterAll(async () => {
      await server?.close();
    });

    it('answers every path the compose healthcheck, HAProxy and the k8s probes call, without a key', async () => {
      const pod = k8s('Deployment').spec.template.spec.containers[0];
      const paths = new Set<string>([
        ...[pod.livenessProbe, pod.readinessProbe, pod.startupProbe].map((p) => p.httpGet.path),
        ...[...haproxy.matchAll(/uri (\S+)/g)].map((m) => m[1]),
        ...(compose.services['jelmore-1'].healthcheck.test as string[])
          .join(' ')
          .match(/\/health\/\w+/g)!,
      ]);
      expect([...paths].sort()).toEqual(['/health/live', '/health/ready']);
      for (const path of paths) {
        const res = await request(server.url).get(path);
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('ok');
      }
    });
  });
});
