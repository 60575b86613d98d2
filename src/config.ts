import os from 'node:os';
import { z } from 'zod';

/** Every controller this process can run, by its `--controllers` name. */
export const CONTROLLER_NAMES = ['pv-binder', 'pvc-protection', 'pv-protection', 'attach-detach', 'provisioner', 'attacher'] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/** Thrown for a bad flag or environment value; `message` is one line naming the flag. */
export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'ConfigError';
    }
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go `time.ParseDuration` string (`15s`, `1m30s`, `500ms`, `0`) into milliseconds.
 * @throws Error on anything else (including a bare number other than 0)
 */
export function parseDuration(s: string): number {
    const str = s.trim();
    if (str === '0') return 0;
    const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
    let total = 0;
    let pos = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(str)) !== null) {
        total += Number(m[1]) * (UNITS[m[2] as string] as number);
        pos = re.lastIndex;
    }
    if (pos === 0 || pos !== str.length) throw new Error(`invalid duration "${s}" (want e.g. 15s, 1m30s, 500ms)`);
    return total;
}

/**
 * Resolves an upstream-style controller list (`*`, `name`, `-name`, comma separated) to the set
 * of enabled controllers, as kube-controller-manager's `--controllers` does.
 * @throws Error naming an unknown controller
 */
export function resolveControllers(list: string[]): ControllerName[] {
    const known = new Set<string>(CONTROLLER_NAMES);
    const enabled = new Set<ControllerName>();
    const disabled = new Set<string>();
    let star = false;
    for (const raw of list) {
        const item = raw.trim();
        if (!item) continue;
        if (item === '*') {
            star = true;
            continue;
        }
        const neg = item.startsWith('-');
        const name = neg ? item.slice(1) : item;
        if (!known.has(name)) throw new Error(`unknown controller "${name}" (known: ${CONTROLLER_NAMES.join(', ')})`);
        if (neg) disabled.add(name);
        else enabled.add(name as ControllerName);
    }
    return CONTROLLER_NAMES.filter((n) => !disabled.has(n) && (star || enabled.has(n)));
}

const duration = z.string().transform((s, ctx) => {
    try {
        return parseDuration(s);
    } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
    }
});
/** A duration that must be > 0 (0 would make every call time out at once, or a loop spin). */
const positiveDuration = duration.refine((ms) => ms > 0, 'must be greater than 0');
const bool = z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0', 't', 'f']))
    .transform((s) => s === 'true' || s === '1' || s === 't');
const number = (min: number) =>
    z.string().regex(/^-?(\d+\.?\d*|\.\d+)$/, 'want a number').transform(Number).pipe(z.number().min(min));
const int = (min: number) => z.string().regex(/^-?\d+$/, 'want an integer').transform(Number).pipe(z.number().int().min(min));
const bindAddress = z
    .string()
    .refine((s) => s === '0' || /^(\[[0-9a-fA-F:.]+\]|[^:]*):\d{1,5}$/.test(s), 'want host:port, :port, or 0 to disable')
    .refine((s) => s === '0' || Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'the port must be between 0 and 65535');
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

interface FlagSpec {
    schema: z.ZodType;
    def: string | undefined;
    help: string;
    boolean?: boolean;
    env?: string;
}

/** The flag table: names, defaults (as strings, parsed like user input) and help. */
export const FLAGS = {
    kubeconfig: { schema: z.string().min(1), def: undefined, env: 'KUBECONFIG', help: 'Path to a kubeconfig. Defaults to $KUBECONFIG, then the in-cluster service account.' },
    controllers: {
        schema: list,
        def: '*',
        help: `Controllers to run: '*' for all, 'name' to enable, '-name' to disable. Known: ${CONTROLLER_NAMES.join(', ')}.`,
    },
    'leader-elect': { schema: bool, def: 'true', boolean: true, help: 'Run leader election so that only one replica runs the controllers at a time.' },
    'leader-elect-lease-duration': { schema: duration, def: '15s', help: 'How long a non-leader waits after the last observed renewal before it may take the lease.' },
    'leader-elect-renew-deadline': { schema: duration, def: '10s', help: 'How long the leader keeps retrying a renewal before it steps down. Must be < lease duration.' },
    'leader-elect-retry-period': { schema: duration, def: '2s', help: 'How long candidates wait between tries to acquire or renew the lease.' },
    'leader-elect-resource-name': { schema: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/), def: 'volume-controller-manager', help: 'Name of the coordination.k8s.io/v1 Lease used for leader election.' },
    'leader-election-namespace': { schema: z.string().min(1), def: undefined, env: 'POD_NAMESPACE', help: 'Namespace of the Lease. Defaults to $POD_NAMESPACE, then kube-system.' },
    'kube-api-qps': { schema: number(0), def: '20', help: 'Client-side limit of API requests per second (token bucket refill rate; 0 = unlimited).' },
    'kube-api-burst': { schema: int(1), def: '30', help: 'Client-side burst of API requests (token bucket size).' },
    'worker-threads': { schema: int(1), def: '10', help: 'Keys each controller reconciles at once.' },
    'metrics-bind-address': { schema: bindAddress, def: ':8080', help: "Address of the Prometheus /metrics endpoint ('0' disables)." },
    'health-probe-bind-address': { schema: bindAddress, def: ':8081', help: "Address of the /healthz and /readyz endpoints ('0' disables)." },
    'pvclaimbinder-sync-period': { schema: positiveDuration, def: '15s', help: 'How often the PV binder re-syncs every claim and volume.' },
    'csi-drivers': {
        schema: z.string().transform((s, ctx) => {
            const out: Record<string, string> = {};
            for (const item of s.split(',').map((x) => x.trim()).filter(Boolean)) {
                const i = item.indexOf('=');
                if (i <= 0 || i === item.length - 1) {
                    ctx.addIssue({ code: 'custom', message: `want name=endpoint, got "${item}"` });
                    return z.NEVER;
                }
                out[item.slice(0, i)] = item.slice(i + 1);
            }
            return out;
        }),
        def: '',
        help: 'CSI drivers served by the provisioner and attacher, as name=endpoint pairs, comma separated (endpoint: unix:///path.sock or host:port).',
    },
    'builtin-driver-dir': { schema: z.string().min(1), def: undefined, help: `Enable the built-in CSI driver (dir.csi.volume-controller-manager.io), keeping its volumes in this directory. Off when unset.` },
    'builtin-driver-capacity': { schema: z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/, 'want a quantity such as 100Gi'), def: '100Gi', help: 'Total capacity of the built-in driver.' },
    'builtin-driver-topology-key': {
        schema: z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'want a label key such as topology.dir.csi.volume-controller-manager.io/node'),
        def: undefined,
        help: 'Topology key of the built-in driver: it then reports VOLUME_ACCESSIBILITY_CONSTRAINTS and places each volume in the segment the provisioner prefers (its node plugins must report the same key). Off when unset: volumes are reachable from every node.',
    },
    timeout: { schema: positiveDuration, def: '10s', help: 'Timeout of each CSI call.' },
    'volume-name-prefix': { schema: z.string().min(1, 'volume name prefix cannot be of length 0'), def: 'pvc', help: 'Prefix of provisioned volume and PV names.' },
    'volume-name-uuid-length': { schema: z.string().regex(/^-?\d+$/, 'want an integer').transform(Number), def: '-1', help: 'Truncate the claim UID in volume names to this many characters (dashes removed); -1 keeps the whole UID.' },
    'retry-interval-start': { schema: positiveDuration, def: '1s', help: 'Initial retry interval of failed provisioning or deletion (doubles each failure).' },
    'retry-interval-max': { schema: positiveDuration, def: '5m', help: 'Maximum retry interval of failed provisioning or deletion.' },
    'extra-create-metadata': { schema: bool, def: 'false', boolean: true, help: 'Add csi.storage.k8s.io/pvc/name, pvc/namespace and pv/name to CreateVolume parameters.' },
    'default-fstype': { schema: z.string(), def: '', help: 'fsType of provisioned volumes whose StorageClass names none.' },
    'attach-detach-reconcile-max-wait-for-unmount-duration': { schema: duration, def: '6m', help: 'How long the attach-detach controller waits for a NotReady node to unmount a volume before it detaches by force.' },
    'disable-force-detach-on-timeout': { schema: bool, def: 'false', boolean: true, help: 'Never force-detach after the unmount wait (the out-of-service taint still detaches at once).' },
    'attach-detach-reconcile-sync-period': { schema: positiveDuration, def: '1m', help: 'How often the attach-detach controller re-checks every node.' },
    'reconcile-sync': { schema: duration, def: '1m', help: "How often the attacher compares attached VolumeAttachments with the driver's ListVolumes and re-publishes what the driver lost (0 disables)." },
    'log-level': { schema: z.enum(['trace', 'debug', 'info', 'warn', 'error']), def: 'info', env: 'LOG_LEVEL', help: 'Log level: trace, debug, info, warn, error.' },
} satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;

/** The validated, frozen configuration. Durations are milliseconds. */
export interface Config {
    kubeconfig: string | undefined;
    controllers: ControllerName[];
    leaderElect: boolean;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
    leaseName: string;
    leaseNamespace: string;
    kubeApiQps: number;
    kubeApiBurst: number;
    workerThreads: number;
    metricsBindAddress: string;
    healthProbeBindAddress: string;
    logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
    /** PV binder resync period in ms. */
    pvClaimBinderSyncPeriodMs: number;
    /** CSI drivers by name → endpoint. */
    csiDrivers: Record<string, string>;
    /** Built-in driver data directory, or undefined when off. */
    builtinDriverDir: string | undefined;
    /** Built-in driver capacity, as a quantity string. */
    builtinDriverCapacity: string;
    /** Built-in driver topology key, or undefined when it reports no topology. */
    builtinDriverTopologyKey: string | undefined;
    /** Per CSI call timeout in ms. */
    csiTimeoutMs: number;
    volumeNamePrefix: string;
    volumeNameUuidLength: number;
    retryIntervalStartMs: number;
    retryIntervalMaxMs: number;
    extraCreateMetadata: boolean;
    defaultFsType: string;
    /** Unmount wait before a forced detach from a NotReady node, ms. */
    maxWaitForUnmountMs: number;
    disableForceDetachOnTimeout: boolean;
    adcSyncPeriodMs: number;
    /** Attacher ListVolumes reconcile period in ms (0 = off). */
    attacherReconcileSyncMs: number;
    /** Leader-election identity: hostname + '_' + a random UUID (client-go convention). */
    identity: string;
}

/** Splits argv into flag → raw string, accepting `--f=v`, `--f v` and bare boolean `--f`. */
function tokenize(argv: string[]): { values: Map<string, string>; help: boolean } {
    const values = new Map<string, string>();
    let help = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i] as string;
        if (a === '--help' || a === '-h') {
            help = true;
            continue;
        }
        if (!a.startsWith('--')) throw new ConfigError(`unexpected argument "${a}" (flags look like --name=value; see --help)`);
        const eq = a.indexOf('=');
        const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
        const spec = (FLAGS as Record<string, FlagSpec>)[name];
        if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
        if (eq >= 0) values.set(name, a.slice(eq + 1));
        else if (spec.boolean) values.set(name, 'true');
        else {
            const next = argv[i + 1];
            if (next === undefined || next.startsWith('--')) throw new ConfigError(`flag --${name} needs a value`);
            values.set(name, next);
            i++;
        }
    }
    return { values, help };
}

/** The `--help` text: every flag with its default and meaning. */
export function helpText(): string {
    const lines = [
        'Usage: volume-controller-manager [flags]',
        '       volume-controller-manager node-plugin --endpoint=unix:///PATH --node-id=ID --data-dir=DIR (the built-in driver\'s node plugin; node-plugin --help)',
        '',
        'Runs the Kubernetes volume controllers in one leader-elected process.',
        '',
        'Flags:',
    ];
    for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
        const def = spec.def !== undefined ? ` (default ${JSON.stringify(spec.def)})` : '';
        const env = spec.env ? ` [env ${spec.env}]` : '';
        lines.push(`  --${name}${def}${env}`, `      ${spec.help}`);
    }
    return lines.join('\n');
}

/**
 * Parses and validates flags and environment into a frozen Config.
 * @param argv arguments after the program name
 * @param env the process environment (only KUBECONFIG, POD_NAMESPACE, LOG_LEVEL are read)
 * @returns the Config, or 'help' when --help was given
 * @throws ConfigError with one line naming the offending flag
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config | 'help' {
    const { values, help } = tokenize(argv);
    if (help) return 'help';
    const get = <N extends FlagName>(name: N): z.output<(typeof FLAGS)[N]['schema']> | undefined => {
        const spec = FLAGS[name] as FlagSpec;
        const raw = values.get(name) ?? (spec.env ? env[spec.env] || undefined : undefined) ?? spec.def;
        if (raw === undefined) return undefined;
        const r = spec.schema.safeParse(raw);
        if (!r.success) {
            const msg = r.error.issues.map((i) => i.message).join('; ');
            throw new ConfigError(`invalid value ${JSON.stringify(raw)} for --${name}: ${msg}`);
        }
        return r.data as z.output<(typeof FLAGS)[N]['schema']>;
    };
    let controllers: ControllerName[];
    try {
        controllers = resolveControllers(get('controllers') as string[]);
    } catch (e) {
        throw new ConfigError(`invalid value for --controllers: ${(e as Error).message}`);
    }
    const cfg: Config = {
        kubeconfig: get('kubeconfig') as string | undefined,
        controllers,
        leaderElect: get('leader-elect') as boolean,
        leaseDurationMs: get('leader-elect-lease-duration') as number,
        renewDeadlineMs: get('leader-elect-renew-deadline') as number,
        retryPeriodMs: get('leader-elect-retry-period') as number,
        leaseName: get('leader-elect-resource-name') as string,
        leaseNamespace: (get('leader-election-namespace') as string | undefined) ?? 'kube-system',
        kubeApiQps: get('kube-api-qps') as number,
        kubeApiBurst: get('kube-api-burst') as number,
        workerThreads: get('worker-threads') as number,
        metricsBindAddress: get('metrics-bind-address') as string,
        healthProbeBindAddress: get('health-probe-bind-address') as string,
        logLevel: get('log-level') as Config['logLevel'],
        pvClaimBinderSyncPeriodMs: get('pvclaimbinder-sync-period') as number,
        csiDrivers: get('csi-drivers') as Record<string, string>,
        builtinDriverDir: get('builtin-driver-dir') as string | undefined,
        builtinDriverCapacity: get('builtin-driver-capacity') as string,
        builtinDriverTopologyKey: get('builtin-driver-topology-key') as string | undefined,
        csiTimeoutMs: get('timeout') as number,
        volumeNamePrefix: get('volume-name-prefix') as string,
        volumeNameUuidLength: get('volume-name-uuid-length') as number,
        retryIntervalStartMs: get('retry-interval-start') as number,
        retryIntervalMaxMs: get('retry-interval-max') as number,
        extraCreateMetadata: get('extra-create-metadata') as boolean,
        defaultFsType: get('default-fstype') as string,
        maxWaitForUnmountMs: get('attach-detach-reconcile-max-wait-for-unmount-duration') as number,
        disableForceDetachOnTimeout: get('disable-force-detach-on-timeout') as boolean,
        adcSyncPeriodMs: get('attach-detach-reconcile-sync-period') as number,
        attacherReconcileSyncMs: get('reconcile-sync') as number,
        identity: `${os.hostname()}_${crypto.randomUUID()}`,
    };
    if (cfg.retryIntervalMaxMs < cfg.retryIntervalStartMs)
        throw new ConfigError('invalid value for --retry-interval-max: must not be less than --retry-interval-start');
    if (cfg.leaderElect) {
        if (cfg.renewDeadlineMs >= cfg.leaseDurationMs)
            throw new ConfigError('invalid value for --leader-elect-renew-deadline: must be less than --leader-elect-lease-duration');
        if (cfg.retryPeriodMs <= 0 || cfg.retryPeriodMs >= cfg.renewDeadlineMs)
            throw new ConfigError('invalid value for --leader-elect-retry-period: must be > 0 and less than --leader-elect-renew-deadline');
    }
    return Object.freeze(cfg);
}
