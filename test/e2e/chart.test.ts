// The Helm chart as an operator reviews it: lint, the README's examples (each one a file under
// examples/, linted, rendered and dry-run on the server), every value documented, bad values
// refused with a clear message, the install notes, Secrets access, scheduling and disruption,
// the ServiceMonitor gate (real discovery through `helm install --dry-run=server`), and the
// `helm test` hook's script run against a real API server and a running leader, and the
// snapshot CRDs installed with a release, kept on uninstall, and left alone with crds.install=false,
// and the built-in driver's node plugin DaemonSet and CSIDriver.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubernetesObjectApi, loadAllYaml, loadYaml } from '@kubernetes/client-node';
import type { KubernetesObject, V1ClusterRole, V1CSIDriver, V1DaemonSet, V1Deployment, V1Pod, V1PodDisruptionBudget, V1Role } from '@kubernetes/client-node';
import { REPO_ROOT, testbinPath } from '../../scripts/lib/testbin.ts';
import { ManagerProcess, childEnv, eventually, managerArgs, useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';

const run = promisify(execFile);
const CHART = path.join(REPO_ROOT, 'charts', 'volume-controller-manager');
const EXAMPLES = path.join(CHART, 'examples');
const NS = 'storage';
const FULLNAME = 'vcm-volume-controller-manager';
const KUBE = ['--kube-version', '1.36.3'];
const CRD_NAMES = ['volumesnapshotclasses', 'volumesnapshotcontents', 'volumesnapshots'].map((p) => `${p}.snapshot.storage.k8s.io`);

type Obj = KubernetesObject & { spec?: Record<string, unknown> };

describe('Helm chart', () => {
    let env: TestCluster;
    let helmHome: string;
    const helm = (...args: string[]) =>
        run(testbinPath('helm'), args, {
            maxBuffer: 16 << 20,
            // Helm's and client-go's caches (discovery included) stay in this test's directory.
            env: childEnv({ HOME: helmHome, HELM_CACHE_HOME: path.join(helmHome, 'cache'), HELM_CONFIG_HOME: path.join(helmHome, 'config'), HELM_DATA_HOME: path.join(helmHome, 'data') }),
        });
    const kubectl = (...args: string[]) => run(testbinPath('kubectl'), ['--kubeconfig', env.cp.kubeconfig, ...args], { maxBuffer: 16 << 20 });
    const template = async (...args: string[]) => (await helm('template', 'vcm', CHART, '-n', NS, ...KUBE, ...args)).stdout;
    /** The rendered objects, as plain JSON (not client-node model instances). */
    const objects = async (...args: string[]) => (JSON.parse(JSON.stringify(loadAllYaml(await template(...args)))) as Obj[]).filter(Boolean);
    const find = <T = Obj>(objs: Obj[], kind: string, name?: string) => objs.find((o) => o.kind === kind && (!name || o.metadata?.name === name)) as T | undefined;
    /** The install notes and manifest of `helm install --dry-run=server` against the test cluster. */
    const installDryRun = async (...args: string[]) => {
        const { stdout } = await helm('install', 'vcm', CHART, '-n', NS, '--dry-run=server', '--kubeconfig', env.cp.kubeconfig, ...args);
        const i = stdout.indexOf('\nNOTES:\n');
        assert.ok(i > 0, 'install printed its notes');
        return { manifest: stdout.slice(0, i), notes: stdout.slice(i) };
    };
    const examples = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort();

    before(async () => {
        // No CRDs from the environment: the chart installs them.
        env = await useCluster({ crds: false });
        helmHome = path.join(env.dir, 'helm-home');
        fs.mkdirSync(helmHome);
        for (const ns of [NS, 'storage-secrets']) await env.clients.core.createNamespace({ body: { metadata: { name: ns } } });
    });
    after(() => env.stop());

    it('passes helm lint --strict with the defaults and with every example', async () => {
        assert.ok(examples.length >= 5, `examples found: ${examples.join(', ')}`);
        for (const args of [[], ...examples.map((f) => ['-f', path.join(EXAMPLES, f)])]) {
            const { stdout } = await helm('lint', CHART, '--strict', ...args);
            assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, args.join(' '));
        }
    });

    it('README: each values block is its examples/ file, every example is shown, every value is documented', () => {
        const readme = fs.readFileSync(path.join(CHART, 'README.md'), 'utf8');
        const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
        const shown = new Set<string>();
        for (const block of blocks) {
            const file = /^# examples\/([\w.-]+\.yaml)/.exec(block)?.[1];
            assert.ok(file, `a yaml block in the README names its examples/ file on its first line:\n${block.slice(0, 200)}`);
            assert.equal(block, fs.readFileSync(path.join(EXAMPLES, file), 'utf8'), `README block = examples/${file}`);
            shown.add(file);
        }
        assert.deepEqual([...shown].sort(), examples, 'every example is shown in the README');

        // Every leaf of values.yaml is a row of the values table. Objects passed through to the
        // pod spec as they are (securityContext, resources) are documented as one value.
        const passThrough = new Set(['resources', 'podSecurityContext', 'securityContext', 'driverContainer.securityContext', 'driverContainer.resources', 'nodePlugin.securityContext', 'nodePlugin.resources', 'nodePlugin.registrar.resources']);
        const values = loadYaml<Record<string, unknown>>(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
        const leaves: string[] = [];
        const walk = (o: Record<string, unknown>, prefix: string) => {
            for (const [k, v] of Object.entries(o)) {
                const p = prefix + k;
                if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length && !passThrough.has(p)) walk(v as Record<string, unknown>, `${p}.`);
                else leaves.push(p);
            }
        };
        walk(values, '');
        assert.ok(leaves.length > 60, `${leaves.length} values`);
        const undocumented = leaves.filter((p) => !readme.includes(`| \`${p}\` |`));
        assert.deepEqual(undocumented, [], 'every value has a row in the README values table');
    });

    it('refuses values that would crash the pod or block the cluster, with a clear message', async () => {
        const bad: [string[], RegExp][] = [
            // values.schema.json
            [['--set', 'replicaCount=0'], /replicaCount': minimum: got 0, want 1/],
            [['--set', 'workerThreads=0'], /workerThreads': minimum: got 0, want 1/],
            [['--set', 'drivers[0].name=x'], /missing property 'endpoint'/],
            [['--set', 'leaderElection.leaseDuration=15'], /leaseDuration/],
            [['--set', 'leaderElection.renewDeadline=10 s'], /renewDeadline/],
            [['--set', 'controllers.nope=true'], /additional properties 'nope' not allowed/],
            [['--set', 'resources.limits.memory=512m'], /limits\/memory/],
            [['--set', 'image.digest=sha256:abc'], /digest/],
            [['--set', 'podDisruptionBudget.maxUnavailable=0'], /maxUnavailable/],
            [['--set', 'driverContainer.enabled=true'], /image/],
            [['--set', 'podAntiAffinity=sometimes'], /podAntiAffinity/],
            [['--set', 'secrets.namespaces[0]=Not_A_Namespace'], /secrets\/namespaces\/0/],
            [['--set', 'crds.install=maybe'], /crds\/install': got string, want boolean/],
            // Two replicas with per-pod emptyDirs would each keep their own built-in volumes.
            [['--set', 'builtinDriver.enabled=true'], /builtinDriver.enabled with replicaCount > 1 needs builtinDriver.existingClaim/],
            [['--set', 'nodePlugin.kubeletDir=var/lib/kubelet'], /nodePlugin\/kubeletDir/],
            [['--set', 'nodePlugin.registrar.image='], /registrar\/image/],
            [['--set', 'builtinDriver.topologyKey=not a key'], /builtinDriver\/topologyKey/],
            // The node plugin serves only the built-in driver, and only from the controller's shared directory.
            [['--set', 'nodePlugin.enabled=true'], /nodePlugin\.enabled needs builtinDriver\.enabled/],
            [['--set', 'nodePlugin.enabled=true', '--set', 'builtinDriver.enabled=true', '--set', 'replicaCount=1'], /nodePlugin\.enabled needs builtinDriver\.existingClaim/],
            // templates/_validate.tpl
            [['--set', 'leaderElection.renewDeadline=15s'], /leaderElection\.renewDeadline \(15s\) must be shorter than leaderElection\.leaseDuration \(15s\)/],
            [['--set', 'leaderElection.leaseDuration=1m', '--set', 'leaderElection.renewDeadline=1m0.5s'], /renewDeadline \(1m0\.5s\) must be shorter than leaderElection\.leaseDuration \(1m\)/],
            [['--set', 'leaderElection.retryPeriod=10s'], /leaderElection\.retryPeriod \(10s\) must be above 0 and shorter than leaderElection\.renewDeadline \(10s\)/],
            [['--set', 'leaderElection.retryPeriod=0s'], /retryPeriod \(0s\) must be above 0/],
            [['--set', 'leaderElection.enabled=false'], /leaderElection\.enabled=false needs replicaCount: 1 \(got 2\)/],
            [['--set', 'resources.limits.memory=512'], /resources\.limits\.memory \(512\) is below 192Mi/],
            [['--set', 'resources.limits.memory=100Mi'], /resources\.limits\.memory \(100Mi\) is below 192Mi/],
            [['--set', 'resources.requests.memory=1Gi'], /resources\.requests\.memory \(1Gi\) exceeds resources\.limits\.memory \(512Mi\)/],
            [['--set', 'podDisruptionBudget.minAvailable=2'], /podDisruptionBudget\.minAvailable \(2\) must be below replicaCount \(2\)/],
            [['--set', 'metrics.port=8081'], /metrics\.port and healthProbe\.port are both 8081/],
            [['--set', 'controllers.pvBinder=false,controllers.pvcProtection=false,controllers.pvProtection=false,controllers.attachDetach=false,controllers.provisioner=false,controllers.attacher=false'], /every loop is disabled/],
        ];
        for (const [args, re] of bad) {
            await assert.rejects(template(...args), (e: { stderr: string }) => {
                assert.match(e.stderr, re, args.join(' '));
                return true;
            });
        }
        // The same parsers accept what is fine: compound durations, a limit given in bytes.
        await template('--set', 'leaderElection.leaseDuration=1m', '--set', 'leaderElection.renewDeadline=59500ms', '--set', 'leaderElection.retryPeriod=1.5s');
        await template('--set', 'resources.limits.memory=268435456', '--set', 'resources.requests.memory=256Mi');
        await template('--set', 'podDisruptionBudget.minAvailable=2', '--set', 'replicaCount=3');
        await template('--set', 'leaderElection.enabled=false', '--set', 'replicaCount=1');
    });

    it('install notes name exactly the kube-controller-manager loops and driver sidecars to turn off', async () => {
        const all = (await installDryRun()).notes;
        assert.match(all, /--controllers=\*,-persistentvolume-binder,-attachdetach,-pv-protection,-pvc-protection\n/);
        assert.match(all, /No driver is listed in `drivers`/);

        const noAdc = (await installDryRun('--set', 'controllers.attachDetach=false')).notes;
        assert.match(noAdc, /--controllers=\*,-persistentvolume-binder,-pv-protection,-pvc-protection\n/);
        assert.doesNotMatch(noAdc, /-attachdetach/);
        assert.match(noAdc, /attachdetach loop must keep running/);

        const sidecarsOnly = (await installDryRun('-f', path.join(EXAMPLES, 'sidecars-only.yaml'))).notes;
        assert.doesNotMatch(sidecarsOnly, /--controllers=/);
        assert.match(sidecarsOnly, /leave kube-controller-manager as it is/);
        assert.match(sidecarsOnly, /csi\.example\.com: remove csi-provisioner, csi-attacher\n/);

        const kcmOnly = (await installDryRun('-f', path.join(EXAMPLES, 'kcm-loops-only.yaml'))).notes;
        assert.match(kcmOnly, /--controllers=\*,-persistentvolume-binder,-attachdetach,-pv-protection,-pvc-protection\n/);
        assert.match(kcmOnly, /Neither the provisioner nor the attacher runs/);
        assert.doesNotMatch(kcmOnly, /remove csi-/);

        const provisionerOnly = (await installDryRun('--set', 'controllers.attacher=false', '--set', 'drivers[0].name=a.example.com', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock', '--set', 'drivers[1].name=b.example.com', '--set', 'drivers[1].endpoint=b:9000')).notes;
        assert.match(provisionerOnly, /a\.example\.com: remove csi-provisioner\n\s+b\.example\.com: remove csi-provisioner\n/);
        assert.doesNotMatch(provisionerOnly, /remove csi-attacher|remove csi-provisioner, csi-attacher/);
        assert.match(provisionerOnly, /secrets\.enabled is false/);
    });

    it('Secrets: no access by default; a Role per listed namespace; else one ClusterRole rule', async () => {
        const secretRules = (objs: Obj[]) =>
            objs
                .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
                .flatMap((o) => ((o as V1Role).rules ?? []).filter((r) => r.resources?.includes('secrets')).map((r) => ({ kind: o.kind, ns: o.metadata?.namespace, verbs: r.verbs })));
        assert.deepEqual(secretRules(await objects()), [], 'defaults: no rule names secrets');
        assert.deepEqual(secretRules(await objects('--set', 'secrets.enabled=true')), [{ kind: 'ClusterRole', ns: undefined, verbs: ['get'] }]);
        const namespaced = await objects('--set', 'secrets.enabled=true', '--set', 'secrets.namespaces={storage-secrets,tenant-a}');
        assert.deepEqual(secretRules(namespaced), [
            { kind: 'Role', ns: 'storage-secrets', verbs: ['get'] },
            { kind: 'Role', ns: 'tenant-a', verbs: ['get'] },
        ]);
        const bindings = namespaced.filter((o) => o.kind === 'RoleBinding' && o.metadata?.name === `${FULLNAME}-secrets`);
        assert.deepEqual(
            bindings.map((b) => b.metadata?.namespace),
            ['storage-secrets', 'tenant-a'],
        );
        // Only the provisioner and the attacher read Secrets.
        assert.deepEqual(secretRules(await objects('-f', path.join(EXAMPLES, 'kcm-loops-only.yaml'), '--set', 'secrets.enabled=true')), []);
        // additionalClusterRoleRules are appended as given.
        const extra = find<V1ClusterRole>(await objects('--set', 'additionalClusterRoleRules[0].apiGroups={example.com}', '--set', 'additionalClusterRoleRules[0].resources={widgets}', '--set', 'additionalClusterRoleRules[0].verbs={get}'), 'ClusterRole');
        assert.deepEqual(extra?.rules?.at(-1), { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] });
    });

    it('pod spec: anti-affinity, spread, disruption budget, priority, image digest, names, driver container', async () => {
        const defaults = await objects();
        const dep = find<V1Deployment>(defaults, 'Deployment');
        const pod = dep?.spec?.template.spec;
        assert.equal(pod?.priorityClassName, 'system-cluster-critical');
        const selector = { 'app.kubernetes.io/instance': 'vcm', 'app.kubernetes.io/name': 'volume-controller-manager' };
        assert.deepEqual(pod?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } }]);
        assert.equal(find<V1PodDisruptionBudget>(defaults, 'PodDisruptionBudget')?.spec?.maxUnavailable, 1, 'never blocks a drain');
        assert.equal(find<V1PodDisruptionBudget>(defaults, 'PodDisruptionBudget')?.spec?.minAvailable, undefined);
        assert.equal(pod?.containers[0]?.image, 'ghcr.io/volume-controller-manager/volume-controller-manager:0.1.0');

        const prod = await objects('-f', path.join(EXAMPLES, 'production.yaml'));
        const prodPod = find<V1Deployment>(prod, 'Deployment')?.spec?.template.spec;
        assert.equal(find<V1PodDisruptionBudget>(prod, 'PodDisruptionBudget')?.spec?.minAvailable, 2);
        assert.deepEqual(prodPod?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } }]);
        assert.deepEqual(prodPod?.topologySpreadConstraints, [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } }]);
        assert.match(prodPod?.containers[0]?.image ?? '', /^registry\.example\.com\/storage\/volume-controller-manager@sha256:[0-9a-f]{64}$/, 'the digest wins over the tag');
        assert.equal(find<V1Pod>(prod, 'Pod')?.spec?.containers[0]?.image, prodPod?.containers[0]?.image, 'the helm test pod runs the same image');

        // minAvailable is ignored with one replica: a drain must never block.
        const one = await objects('--set', 'replicaCount=1', '--set', 'podDisruptionBudget.minAvailable=1');
        assert.equal(find<V1PodDisruptionBudget>(one, 'PodDisruptionBudget')?.spec?.maxUnavailable, 1);
        assert.equal(find<V1PodDisruptionBudget>(one, 'PodDisruptionBudget')?.spec?.minAvailable, undefined);

        // The user's own podAntiAffinity wins; other affinity parts combine with the chart's rule.
        const nodeAff = { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['system'] }] }] } };
        const combined = find<V1Deployment>(await objects('--set-json', `affinity=${JSON.stringify({ nodeAffinity: nodeAff })}`), 'Deployment')?.spec?.template.spec?.affinity;
        assert.deepEqual(combined?.nodeAffinity, nodeAff);
        assert.ok(combined?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
        assert.equal(find<V1Deployment>(await objects('--set', 'podAntiAffinity=none'), 'Deployment')?.spec?.template.spec?.affinity, undefined);

        // Name overrides reach every object, the Lease and its Role; a 63-character full name
        // still yields a valid Service name.
        const long = 'x'.repeat(63);
        const named = await objects('--set', `fullnameOverride=${long}`);
        assert.deepEqual(
            // Every object but the CRDs, whose names the API fixes.
            named.filter((o) => o.kind !== 'CustomResourceDefinition' && !o.metadata?.name?.startsWith('x'.repeat(55))),
            [],
        );
        assert.deepEqual(
            named.filter((o) => ['Deployment', 'Service', 'Pod', 'ServiceAccount'].includes(o.kind ?? '') && (o.metadata?.name?.length ?? 0) > 63).map((o) => o.metadata?.name),
            [],
            'DNS-label names stay within 63 characters',
        );
        assert.equal(find(named, 'Service')?.metadata?.name, `${'x'.repeat(55)}-metrics`);
        assert.ok(find<V1Deployment>(named, 'Deployment')?.spec?.template.spec?.containers[0]?.args?.includes(`--leader-elect-resource-name=${long}`));
        assert.equal(find(await objects('--set', 'nameOverride=vcm2'), 'Deployment')?.metadata?.name, 'vcm-vcm2');

        // The driver container: NODE_NAME from the downward API first, then its own env, mounts,
        // securityContext, probes and resources.
        const inPod = find<V1Deployment>(await objects('-f', path.join(EXAMPLES, 'driver-in-pod.yaml')), 'Deployment')?.spec?.template.spec;
        const driver = inPod?.containers.find((c) => c.name === 'hostpath');
        assert.deepEqual(driver?.env?.[0], { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
        assert.ok(driver?.args?.includes('--nodeid=$(NODE_NAME)'));
        assert.deepEqual(
            driver?.volumeMounts?.map((m) => m.mountPath),
            ['/csi', '/csi-data-dir'],
        );
        assert.equal(driver?.securityContext?.runAsUser, 0);
        assert.equal(driver?.livenessProbe?.httpGet?.port, 'driver-health');
        assert.equal(driver?.resources?.limits?.memory, '128Mi');
        assert.deepEqual(
            inPod?.containers.map((c) => c.name),
            ['volume-controller-manager', 'hostpath', 'liveness-probe'],
        );
        assert.ok(inPod?.volumes?.some((v) => v.name === 'csi-data-dir'));
    });

    it('node plugin: our image as node-plugin beside the registrar, privileged only where it mounts, kubelet paths from kubeletDir, and the CSIDriver', async () => {
        const objs = await objects('-f', path.join(EXAMPLES, 'builtin-node-plugin.yaml'), '--set', 'nodePlugin.kubeletDir=/var/lib/k0s/kubelet', '--set', 'builtinDriver.topologyKey=example.com/rack');
        assert.equal(find(await objects(), 'DaemonSet'), undefined, 'off by default');
        const ds = find<V1DaemonSet>(objs, 'DaemonSet', `${FULLNAME}-node`);
        const pod = ds?.spec?.template.spec;
        assert.ok(pod, 'a DaemonSet');
        assert.equal(pod.automountServiceAccountToken, false, 'no API access');
        assert.equal(pod.securityContext, undefined, 'no pod-wide privilege');
        assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
        const [plugin, registrar] = pod.containers;
        const dep = find<V1Deployment>(objs, 'Deployment')?.spec?.template.spec?.containers[0];
        assert.equal(plugin?.image, dep?.image, 'the same image as the controller-manager');
        assert.deepEqual(plugin?.args, [
            'node-plugin',
            '--endpoint=unix:///csi/csi.sock',
            '--node-id=$(NODE_NAME)',
            '--data-dir=/var/lib/volume-controller-manager/builtin',
            '--log-level=info',
            '--topology-key=example.com/rack',
        ]);
        assert.ok(dep?.args?.includes('--builtin-driver-topology-key=example.com/rack'), 'the controller reports the same key');
        assert.equal(plugin?.securityContext?.privileged, true);
        assert.equal(registrar?.securityContext?.privileged, undefined);
        assert.deepEqual(registrar?.securityContext?.capabilities, { drop: ['ALL'] });
        assert.equal(registrar?.image, 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0');
        assert.ok(registrar?.args?.includes('--kubelet-registration-path=/var/lib/k0s/kubelet/plugins/dir.csi.volume-controller-manager.io/csi.sock'));
        const propagation = Object.fromEntries((plugin?.volumeMounts ?? []).map((m) => [m.mountPath, m.mountPropagation ?? 'None']));
        assert.deepEqual(propagation, {
            '/csi': 'None',
            '/var/lib/k0s/kubelet/plugins': 'Bidirectional',
            '/var/lib/k0s/kubelet/pods': 'Bidirectional',
            '/var/lib/volume-controller-manager/builtin': 'None',
            '/run/mount': 'None',
        });
        const vols = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v.hostPath?.path ?? v.persistentVolumeClaim?.claimName ?? 'emptyDir']));
        assert.deepEqual(vols, {
            'socket-dir': '/var/lib/k0s/kubelet/plugins/dir.csi.volume-controller-manager.io',
            'registration-dir': '/var/lib/k0s/kubelet/plugins_registry',
            'plugins-dir': '/var/lib/k0s/kubelet/plugins',
            'pods-dir': '/var/lib/k0s/kubelet/pods',
            'builtin-driver': 'vcm-builtin-data',
            'run-mount': 'emptyDir',
        });
        const controllerClaim = find<V1Deployment>(objs, 'Deployment')?.spec?.template.spec?.volumes?.find((v) => v.name === 'builtin-driver')?.persistentVolumeClaim?.claimName;
        assert.equal(controllerClaim, 'vcm-builtin-data', 'controller and node plugins share one claim');
        const driver = find<V1CSIDriver>(objs, 'CSIDriver', 'dir.csi.volume-controller-manager.io');
        assert.deepEqual(driver?.spec, { attachRequired: true, podInfoOnMount: false, fsGroupPolicy: 'File', volumeLifecycleModes: ['Persistent'] });
    });

    const variants: [string, string[]][] = [
        ['defaults', []],
        ...examples.map((f): [string, string[]] => [`examples/${f}`, ['-f', path.join(EXAMPLES, f)]]),
        ['built-in driver, driver container, no leader election', ['--set', 'replicaCount=1', '--set', 'builtinDriver.enabled=true', '--set', 'driverContainer.enabled=true', '--set', 'driverContainer.image=example.invalid/driver:1', '--set', 'drivers[0].name=hostpath.csi.k8s.io', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock', '--set', 'leaderElection.enabled=false']],
        ['no CRDs', ['--set', 'crds.install=false']],
        ['built-in driver on a shared claim, driver container', ['--set', 'builtinDriver.enabled=true', '--set', 'builtinDriver.existingClaim=vcm-builtin', '--set', 'driverContainer.enabled=true', '--set', 'driverContainer.image=example.invalid/driver:1', '--set', 'drivers[0].name=hostpath.csi.k8s.io', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock']],
        ['built-in driver, one replica, emptyDir', ['--set', 'builtinDriver.enabled=true', '--set', 'replicaCount=1']],
        ['built-in node plugin, another kubelet root, topology', ['-f', path.join(EXAMPLES, 'builtin-node-plugin.yaml'), '--set', 'nodePlugin.kubeletDir=/var/lib/k0s/kubelet', '--set', 'builtinDriver.topologyKey=topology.dir.csi.volume-controller-manager.io/node', '--set', 'nodePlugin.logLevel=debug']],
        ['only the binder', ['--set', 'controllers.attachDetach=false', '--set', 'controllers.provisioner=false', '--set', 'controllers.attacher=false']],
        [
            'every optional value set',
            [
                '--set', `fullnameOverride=${'y'.repeat(63)}`, '--set', 'podAntiAffinity=none', '--set', 'priorityClassName=', '--set', 'secrets.enabled=true', '--set', 'secrets.namespaces={storage-secrets}',
                '--set-json', 'extraEnv=[{"name":"A","value":"b"}]', '--set-json', 'extraVolumes=[{"name":"ca","configMap":{"name":"ca-bundle"}}]', '--set-json', 'extraVolumeMounts=[{"name":"ca","mountPath":"/etc/ssl/extra","readOnly":true}]',
                '--set-json', 'extraContainers=[{"name":"sidecar","image":"example.invalid/sidecar:1"}]', '--set-json', 'additionalClusterRoleRules=[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]',
                '--set-json', 'podSecurityContext={"runAsUser":1000}', '--set-json', 'tolerations=[{"operator":"Exists"}]', '--set', 'nodeSelector.kubernetes\\.io/os=linux',
                '--set', 'metrics.service.type=NodePort', '--set', 'podDisruptionBudget.maxUnavailable=50%', '--set', 'image.digest=sha256:' + 'a'.repeat(64),
            ],
        ],
        ['no RBAC, no ServiceAccount, no Service, no PDB, no test', ['--set', 'rbac.create=false', '--set', 'serviceAccount.create=false', '--set', 'metrics.service.enabled=false', '--set', 'podDisruptionBudget.enabled=false', '--set', 'helmTest.enabled=false']],
    ];
    for (const [name, args] of variants) {
        it(`renders manifests the API server accepts (${name})`, async () => {
            const manifest = await template(...args);
            const objs = (loadAllYaml(manifest) as Obj[]).filter(Boolean);
            const file = path.join(env.dir, `chart-${name.replace(/\W+/g, '-')}.yaml`);
            fs.writeFileSync(file, manifest);
            const { stdout } = await kubectl('apply', '--dry-run=server', '-f', file);
            const created = stdout.split('\n').filter((l) => / created \(server dry run\)$/.test(l));
            assert.equal(created.length, objs.length, `every object accepted:\n${stdout}`);
            const crds = [...stdout.matchAll(/customresourcedefinition\.apiextensions\.k8s\.io\/(\S+) created \(server dry run\)/g)].map((m) => m[1]).sort();
            assert.deepEqual(crds, args.includes('crds.install=false') ? [] : CRD_NAMES);
            const dep = find<V1Deployment>(objs, 'Deployment');
            assert.ok(dep, 'a Deployment');
            assert.equal(dep.spec?.template.spec?.securityContext?.runAsNonRoot, true);
            assert.equal(dep.spec?.template.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
        });
    }

    it('ServiceMonitor only where the API serves it: a default install never fails without the Prometheus Operator', async () => {
        const sm = ['--set', 'metrics.serviceMonitor.enabled=true'];
        const without = await installDryRun(...sm);
        assert.doesNotMatch(without.manifest, /kind: ServiceMonitor/);
        assert.match(without.notes, /does not serve\nmonitoring\.coreos\.com\/v1 ServiceMonitor/);

        // A ServiceMonitor CRD with the fields the chart sets (the Prometheus Operator's names
        // and types); the server rejects unknown fields, so a misspelt key fails the dry run.
        const crd = {
            apiVersion: 'apiextensions.k8s.io/v1',
            kind: 'CustomResourceDefinition',
            metadata: { name: 'servicemonitors.monitoring.coreos.com' },
            spec: {
                group: 'monitoring.coreos.com',
                scope: 'Namespaced',
                names: { kind: 'ServiceMonitor', listKind: 'ServiceMonitorList', plural: 'servicemonitors', singular: 'servicemonitor' },
                versions: [
                    {
                        name: 'v1',
                        served: true,
                        storage: true,
                        schema: {
                            openAPIV3Schema: {
                                type: 'object',
                                properties: {
                                    spec: {
                                        type: 'object',
                                        required: ['selector', 'endpoints'],
                                        properties: {
                                            selector: { type: 'object', properties: { matchLabels: { type: 'object', additionalProperties: { type: 'string' } } } },
                                            namespaceSelector: { type: 'object', properties: { matchNames: { type: 'array', items: { type: 'string' } }, any: { type: 'boolean' } } },
                                            endpoints: { type: 'array', items: { type: 'object', properties: { port: { type: 'string' }, path: { type: 'string' }, interval: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' } } } },
                                        },
                                    },
                                },
                            },
                        },
                    },
                ],
            },
        };
        await KubernetesObjectApi.makeApiClient(env.clients.kc).create(crd);
        await eventually('ServiceMonitor served', async () => (await kubectl('api-resources', '--api-group=monitoring.coreos.com')).stdout.includes('servicemonitors'), 30_000, 200);

        const withCrd = await installDryRun(...sm, '-f', path.join(EXAMPLES, 'production.yaml'));
        assert.match(withCrd.manifest, /kind: ServiceMonitor/);
        assert.doesNotMatch(withCrd.notes, /does not serve/);
        const manifest = await template('-f', path.join(EXAMPLES, 'production.yaml'), '--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor');
        const file = path.join(env.dir, 'chart-servicemonitor.yaml');
        fs.writeFileSync(file, manifest);
        const { stdout } = await kubectl('apply', '--dry-run=server', '-f', file);
        assert.match(stdout, new RegExp(`servicemonitor\\.monitoring\\.coreos\\.com/${FULLNAME} created \\(server dry run\\)`));
    });

    it('the helm test hook fails without a leader and passes against a leading process and its /readyz', async () => {
        const objs = await objects();
        const hooks = objs.filter((o) => o.metadata?.annotations?.['helm.sh/hook'] === 'test');
        assert.deepEqual(hooks.map((o) => o.kind).sort(), ['Pod', 'Role', 'RoleBinding', 'ServiceAccount']);
        assert.deepEqual(find<V1Role>(hooks, 'Role')?.rules, [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [FULLNAME], verbs: ['get'] }]);
        const pod = find<V1Pod>(hooks, 'Pod') as V1Pod;
        const container = pod.spec?.containers[0];
        const podEnv = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
        assert.deepEqual(podEnv, { LEASE_NAMESPACE: NS, LEASE_NAME: FULLNAME, READYZ_URL: `http://${FULLNAME}-metrics.${NS}.svc:8081/readyz` });
        assert.deepEqual(container?.command?.slice(0, 2), ['node', '-e']);
        const script = container?.command?.[2] ?? '';

        // Its ServiceAccount and RBAC, for real; the script runs as that ServiceAccount.
        const api = KubernetesObjectApi.makeApiClient(env.clients.kc);
        for (const o of hooks.filter((h) => h.kind !== 'Pod')) await api.create(o);
        const tr = await env.clients.core.createNamespacedServiceAccountToken({ name: pod.spec?.serviceAccountName ?? '', namespace: NS, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
        const saDir = path.join(env.dir, 'hook-sa');
        fs.mkdirSync(saDir);
        fs.copyFileSync(path.join(env.cp.dir, 'pki', 'apiserver.crt'), path.join(saDir, 'ca.crt'));
        fs.writeFileSync(path.join(saDir, 'token'), tr.status?.token ?? '');
        const api_ = new URL(env.cp.server);
        const runHook = (readyz: string) =>
            run(process.execPath, ['-e', script], { env: childEnv({ ...podEnv, READYZ_URL: readyz, SA_DIR: saDir, KUBERNETES_SERVICE_HOST: api_.hostname, KUBERNETES_SERVICE_PORT: api_.port }) }).then(
                (r) => ({ code: 0, ...r }),
                (e: { code: number; stdout: string; stderr: string }) => e,
            );

        const before = await runHook('http://127.0.0.1:1/readyz');
        assert.equal(before.code, 1);
        assert.match(before.stderr, new RegExp(`FAIL: Lease ${NS}/${FULLNAME} does not exist`));

        const p = new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--leader-elect-resource-name=${FULLNAME}`, `--leader-election-namespace=${NS}`, '--controllers=pv-protection']));
        try {
            const health = await eventually('health endpoint', () => p.lines.find((l) => l.msg === 'Serving HTTP endpoints' && (l.paths as string[]).includes('/readyz')));
            await p.waitForLog('Caches synced; starting controllers');
            const readyz = `http://127.0.0.1:${health.port}/readyz`;
            const ok = await runHook(readyz);
            assert.equal(ok.code, 0, ok.stderr);
            assert.match(ok.stdout, new RegExp(`ok: ${(await p.identity()).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} leads`));
            assert.match(ok.stdout, /ok: http:\/\/127\.0\.0\.1:\d+\/readyz answers 200/);
        } finally {
            p.kill('SIGTERM');
            await p.exited;
        }
        // The process released the Lease on its way out: nobody leads.
        const released = await runHook('http://127.0.0.1:1/readyz');
        assert.equal(released.code, 1);
        assert.match(released.stderr, /has no holder: no replica leads/);
    });
    // Last: it leaves the CRDs installed for good, as Helm does.
    it('helm install creates the snapshot CRDs; helm uninstall keeps them and the snapshots; crds.install=false leaves them alone', async () => {
        const h = (...a: string[]) => helm('--kubeconfig', env.cp.kubeconfig, ...a);
        await h('install', 'crds', CHART, '-n', 'default', '--set', 'helmTest.enabled=false');
        await kubectl('wait', '--for=condition=Established', '--timeout=30s', ...CRD_NAMES.map((n) => `crd/${n}`));
        const snapshot = path.join(env.dir, 'snapshot.yaml');
        fs.writeFileSync(snapshot, 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: kept, namespace: default}\nspec: {source: {persistentVolumeClaimName: data}}\n');
        await kubectl('create', '-f', snapshot);

        const { stdout: un } = await h('uninstall', 'crds', '-n', 'default');
        assert.match(un, /These resources were kept due to the resource policy:[\s\S]*CustomResourceDefinition/);
        const { stdout: names } = await kubectl('get', 'crd', '-o', 'name');
        for (const n of CRD_NAMES) assert.ok(names.includes(`customresourcedefinition.apiextensions.k8s.io/${n}`), `${n} kept`);
        const { stdout: vs } = await kubectl('get', 'volumesnapshot', 'kept', '-n', 'default', '-o', 'jsonpath={.spec.source.persistentVolumeClaimName}');
        assert.equal(vs, 'data', 'the VolumeSnapshot survived the uninstall');

        // Another release, told the CRDs exist already: installs without touching them.
        const { stdout: before } = await kubectl('get', 'crd', ...CRD_NAMES, '-o', 'jsonpath={.items[*].metadata.resourceVersion}');
        await h('install', 'other', CHART, '-n', 'default', '--set', 'crds.install=false', '--set', 'helmTest.enabled=false');
        await h('uninstall', 'other', '-n', 'default');
        const { stdout: after } = await kubectl('get', 'crd', ...CRD_NAMES, '-o', 'jsonpath={.items[*].metadata.resourceVersion}');
        assert.equal(after, before, 'crds.install=false neither changed nor deleted the CRDs');
    });
});
