// Pure pieces of the external-provisioner: names, CreateVolume request, secrets, topology, the
// PV object, data sources (restore and clone). No I/O. Mirrors kubernetes-csi/external-provisioner
// pkg/controller (controller.go, topology.go) and csi-lib-utils accessmodes.
import type { V1CSINode, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass, V1TopologySelectorTerm } from '@kubernetes/client-node';
import type { AccessModeName, ControllerCapabilityName, PluginCapabilityName, Topology, TopologyRequirement, Volume, VolumeCapability, VolumeContentSource } from '../../src/csi/types.ts';
import { ANN_DYNAMICALLY_PROVISIONED, FINALIZER_EXTERNAL_PROVISIONER, claimClass, volumeModeOf } from '../../src/storage/helpers.ts';
import { dns1123LabelErrors, dns1123SubdomainErrors, quoteBounded } from '../../src/kube/names.ts';
import { formatBytes, tryParseQuantity } from '../../src/storage/quantity.ts';

/** PV annotations recording the provisioner secret for deletion. */
export const ANN_DELETION_SECRET_NAME = 'volume.kubernetes.io/provisioner-deletion-secret-name';
export const ANN_DELETION_SECRET_NAMESPACE = 'volume.kubernetes.io/provisioner-deletion-secret-namespace';
/** volumeAttributes key holding the provisioner identity. */
export const ATTR_PROVISIONER_IDENTITY = 'storage.kubernetes.io/csiProvisionerIdentity';
/**
 * Our finalizer on a claim while a CreateVolume for it may have run and no PV records the
 * volume yet: the durable in-flight record that lets a restarted process finish or undo the
 * provisioning (closes external-provisioner #486).
 */
export const FINALIZER_PROVISIONING = 'volume-controller-manager.io/provisioning-in-progress';

const PREFIX = 'csi.storage.k8s.io/';

/** A failure with the message users see in the ProvisioningFailed event. */
export class ProvisionError extends Error {
    /** true: retrying cannot help until the inputs change; the claim is retried slowly. */
    readonly final: boolean;
    /** true: the selected node cannot host the volume; the scheduler should pick another. */
    readonly reschedule: boolean;
    constructor(message: string, o: { final?: boolean; reschedule?: boolean } = {}) {
        super(message);
        this.name = 'ProvisionError';
        this.final = o.final ?? false;
        this.reschedule = o.reschedule ?? false;
    }
}

/**
 * The CreateVolume name and PV name for a claim (makeVolumeName): `<prefix>-<uid>`, or with
 * uuidLength >= 0 the UID without dashes truncated to that length.
 * @throws ProvisionError for an empty prefix or UID
 */
export function makeVolumeName(prefix: string, uid: string | undefined, uuidLength: number): string {
    if (!prefix) throw new ProvisionError('volume name prefix cannot be of length 0', { final: true });
    if (!uid) throw new ProvisionError('corrupted PVC object, it is missing UID', { final: true });
    if (uuidLength < 0) return `${prefix}-${uid}`;
    return `${prefix}-${uid.replaceAll('-', '').slice(0, uuidLength)}`;
}

/**
 * Kubernetes access modes → CSI access modes (csi-lib-utils accessmodes.ToCSIAccessMode),
 * one per claim mode. With SINGLE_NODE_MULTI_WRITER support RWO → SINGLE_NODE_MULTI_WRITER and
 * RWOP → SINGLE_NODE_SINGLE_WRITER.
 * @throws ProvisionError for combinations CSI cannot express
 */
export function toCsiAccessModes(modes: string[], singleNodeMultiWriter: boolean): AccessModeName[] {
    const set = new Set(modes);
    if (set.has('ReadWriteOncePod') && set.size > 1) throw new ProvisionError('Kubernetes does not support use of ReadWriteOncePod with other access modes on the same PersistentVolume', { final: true });
    if (set.has('ReadOnlyMany') && set.has('ReadWriteOnce') && !set.has('ReadWriteMany')) throw new ProvisionError('CSI does not support ReadOnlyMany and ReadWriteOnce on the same PersistentVolume', { final: true });
    return modes.map((m) => {
        switch (m) {
            case 'ReadWriteMany':
                return 'MULTI_NODE_MULTI_WRITER';
            case 'ReadOnlyMany':
                return 'MULTI_NODE_READER_ONLY';
            case 'ReadWriteOnce':
                return singleNodeMultiWriter ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER';
            case 'ReadWriteOncePod':
                return singleNodeMultiWriter ? 'SINGLE_NODE_SINGLE_WRITER' : 'SINGLE_NODE_WRITER';
            default:
                throw new ProvisionError(`unsupported AccessMode combination: ${JSON.stringify(modes)}`, { final: true });
        }
    });
}

/** The fsType from class parameters (`csi.storage.k8s.io/fstype`, or deprecated `fstype`), else the default. */
export function fsTypeOf(params: Record<string, string>, defaultFsType: string): string {
    const legacy = Object.entries(params).find(([k]) => k.toLowerCase() === 'fstype')?.[1];
    const prefixed = params[`${PREFIX}fstype`];
    if (legacy !== undefined && prefixed !== undefined) throw new ProvisionError(`fstype specified in parameters with both "fstype" and "${PREFIX}fstype" keys`, { final: true });
    return prefixed ?? legacy ?? defaultFsType;
}

const ALLOWED_PREFIXED = new Set(
    ['fstype', 'secret-name', 'secret-namespace'].concat(
        ...['provisioner', 'controller-publish', 'node-stage', 'node-publish', 'controller-expand', 'node-expand', 'controller-modify'].map((k) => [`${k}-secret-name`, `${k}-secret-namespace`]),
    ),
);

/** Class parameters with every `csi.storage.k8s.io/` key removed. @throws ProvisionError for an unknown reserved key */
export function stripParameters(params: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) {
        if (k.startsWith(PREFIX)) {
            if (!ALLOWED_PREFIXED.has(k.slice(PREFIX.length)))
                throw new ProvisionError(`failed to strip CSI Parameters of prefixed keys: found unknown parameter key "${k}" with reserved namespace ${PREFIX}`, { final: true });
            continue;
        }
        out[k] = v;
    }
    return out;
}

/** The secret kinds a class can name. */
export type SecretKind = 'provisioner' | 'controller-publish' | 'node-stage' | 'node-publish' | 'controller-expand' | 'node-expand';

/** Template context: the claim and the PV name. */
interface TemplateContext {
    claim: V1PersistentVolumeClaim;
    pvName: string;
}

function expand(template: string, ctx: TemplateContext, allowed: (token: string) => boolean): string {
    const bad: string[] = [];
    const out = template.replace(/\$\{([^}]*)\}/g, (_m, token: string) => {
        if (!allowed(token)) {
            bad.push(token);
            return '';
        }
        if (token === 'pv.name') return ctx.pvName;
        if (token === 'pvc.name') return ctx.claim.metadata?.name ?? '';
        if (token === 'pvc.namespace') return ctx.claim.metadata?.namespace ?? '';
        const m = /^pvc\.annotations\['(.+)'\]$/.exec(token);
        return m ? (ctx.claim.metadata?.annotations?.[m[1] as string] ?? '') : '';
    });
    if (bad.length) throw new ProvisionError(`invalid tokens: ${JSON.stringify(bad)}`, { final: true });
    return out;
}

/**
 * The secret reference a class names for one kind (with `csi.storage.k8s.io/secret-name` as
 * the default), with upstream templating: namespace tokens `${pv.name}`, `${pvc.namespace}`;
 * name tokens also `${pvc.name}` and `${pvc.annotations['<key>']}`. Undefined when none.
 * The resolved names are validated as the API server would (namespace: DNS-1123 label, ≤ 63
 * characters; name: DNS-1123 subdomain, ≤ 253) before any request carries them: a claim
 * annotation can hold 200 KB. Messages are upstream's (`"<template>" resolved to "<value>" which
 * is not a valid secret name`) plus the reason, with long values cut (quoteBounded).
 * @throws ProvisionError for half-specified pairs, bad tokens, or invalid resolved names
 */
export function secretRef(params: Record<string, string>, kind: SecretKind, ctx: TemplateContext): { name: string; namespace: string } | undefined {
    let nameT = params[`${PREFIX}${kind}-secret-name`];
    let nsT = params[`${PREFIX}${kind}-secret-namespace`];
    if (nameT === undefined && nsT === undefined) {
        nameT = params[`${PREFIX}secret-name`];
        nsT = params[`${PREFIX}secret-namespace`];
    }
    if (nameT === undefined && nsT === undefined) return undefined;
    if (nameT === undefined || nsT === undefined) throw new ProvisionError(`either name and namespace for ${kind} secrets specified, Both must be specified`, { final: true });
    if (!nameT || !nsT) throw new ProvisionError(`${kind} secrets specified in parameters but value of either namespace or name is empty`, { final: true });
    const invalid = (template: string, value: string, what: string, errs: string[]) =>
        new ProvisionError(
            `${template === value ? `${quoteBounded(template)} is` : `${quoteBounded(template)} resolved to ${quoteBounded(value)} which is`} not a valid ${what}: ${errs.join('; ')}`,
            { final: true },
        );
    const namespace = expand(nsT, ctx, (t) => t === 'pv.name' || t === 'pvc.namespace');
    const nsErrs = dns1123LabelErrors(namespace);
    if (nsErrs.length) throw invalid(nsT, namespace, 'namespace name', nsErrs);
    const name = expand(nameT, ctx, (t) => ['pv.name', 'pvc.name', 'pvc.namespace'].includes(t) || /^pvc\.annotations\['.+'\]$/.test(t));
    const nameErrs = dns1123SubdomainErrors(name);
    if (nameErrs.length) throw invalid(nameT, name, 'secret name', nameErrs);
    return { name, namespace };
}

/** Flattens allowedTopologies terms into topology segments (cartesian product per term), sorted and de-duplicated. */
export function flattenAllowed(terms: V1TopologySelectorTerm[] | undefined): Topology[] {
    const out: Topology[] = [];
    for (const term of terms ?? []) {
        let acc: Record<string, string>[] = [{}];
        for (const e of term.matchLabelExpressions ?? []) acc = acc.flatMap((seg) => e.values.map((v) => ({ ...seg, [e.key]: v })));
        out.push(...acc.map((segments) => ({ segments })));
    }
    return dedupeSort(out);
}

function topoKey(t: Topology): string {
    return Object.keys(t.segments)
        .sort()
        .map((k) => `${k}=${t.segments[k]}`)
        .join(',');
}

function dedupeSort(ts: Topology[]): Topology[] {
    const m = new Map<string, Topology>();
    for (const t of ts) m.set(topoKey(t), t);
    return [...m.keys()].sort().map((k) => m.get(k) as Topology);
}

/** The topology keys the driver registered on a node's CSINode, or undefined when it did not. */
export function topologyKeys(csiNode: V1CSINode | undefined, driver: string): string[] | undefined {
    return csiNode?.spec?.drivers?.find((d) => d.name === driver)?.topologyKeys;
}

/**
 * accessibility_requirements (topology.go GenerateAccessibilityRequirements, non-strict):
 * with a selected node, requisite = allowedTopologies (flattened) or every node's term for the
 * driver's keys, and preferred = requisite rotated so the selected node's term comes first;
 * without one, requisite = allowedTopologies or the aggregate, preferred = requisite.
 * @throws ProvisionError (reschedule) when the selected node has no CSINode entry or labels
 */
export function accessibilityRequirements(
    driver: string,
    sc: V1StorageClass,
    selectedNode: string | undefined,
    nodes: (name: string) => V1Node | undefined,
    allNodes: () => V1Node[],
    csiNodes: (name: string) => V1CSINode | undefined,
    allCsiNodes: () => V1CSINode[],
): TopologyRequirement | undefined {
    const allowed = flattenAllowed(sc.allowedTopologies);
    let keys: string[] | undefined;
    let selectedTerm: Topology | undefined;
    if (selectedNode) {
        const cn = csiNodes(selectedNode);
        if (!cn) throw new ProvisionError(`failed to get selected CSINode ${selectedNode}: csinode.storage.k8s.io "${selectedNode}" not found`, { reschedule: true });
        keys = topologyKeys(cn, driver);
        if (!keys || keys.length === 0) throw new ProvisionError(`no topology key found for node ${selectedNode}: CSINode ${selectedNode} has no topology keys for driver ${driver} (is the node plugin registered?)`, { reschedule: true });
        const labels = nodes(selectedNode)?.metadata?.labels ?? {};
        const seg: Record<string, string> = {};
        for (const k of keys) {
            if (labels[k] === undefined) throw new ProvisionError(`topology labels from selected node ${JSON.stringify(labels)} does not match topology keys from CSINode ${JSON.stringify(keys)}`, { reschedule: true });
            seg[k] = labels[k] as string;
        }
        selectedTerm = { segments: seg };
    } else if (allowed.length === 0) {
        keys = allCsiNodes().map((c) => topologyKeys(c, driver)).find((k) => k && k.length > 0);
        if (!keys) throw new ProvisionError('no available topology found: no CSINode lists topology keys for this driver');
    }
    let requisite = allowed;
    if (requisite.length === 0 && keys) {
        const ks = keys;
        const terms = allNodes()
            .filter((n) => ks.every((k) => n.metadata?.labels?.[k] !== undefined))
            .map((n) => ({ segments: Object.fromEntries(ks.map((k) => [k, n.metadata?.labels?.[k] as string])) }));
        if (terms.length === 0) throw new ProvisionError(`topologyKeys ${JSON.stringify(ks)} were not found on any nodes`);
        requisite = dedupeSort(terms);
    }
    if (requisite.length === 0) return undefined;
    let preferred = requisite;
    if (selectedTerm) {
        const sel = selectedTerm;
        const i = requisite.findIndex((t) => Object.entries(sel.segments).every(([k, v]) => t.segments[k] === v));
        if (i < 0) throw new ProvisionError(`topology ${topoKey(sel)} from selected node "${selectedNode}" is not in requisite: ${requisite.map(topoKey).join('; ')}`, { reschedule: true });
        preferred = [...requisite.slice(i), ...requisite.slice(0, i)];
    }
    return { requisite, preferred };
}

/** The CSI volume capabilities for a claim: one per access mode, block or mount(fsType, mountOptions). */
export function volumeCapabilities(claim: V1PersistentVolumeClaim, fsType: string, mountOptions: string[], singleNodeMultiWriter: boolean): VolumeCapability[] {
    const block = volumeModeOf(claim) === 'Block';
    return toCsiAccessModes(claim.spec?.accessModes ?? [], singleNodeMultiWriter).map((mode) => ({
        ...(block ? { block: {} } : { mount: { fs_type: fsType, mount_flags: mountOptions } }),
        access_mode: { mode },
    }));
}

export interface PVInputs {
    pvName: string;
    driver: string;
    identity: string;
    claim: V1PersistentVolumeClaim;
    sc: V1StorageClass;
    volume: Volume;
    requestedBytes: bigint;
    fsType: string;
    secretRefs: Partial<Record<SecretKind, { name: string; namespace: string }>>;
}

/** The PV for a provisioned volume, pre-bound to its claim (controller.go Provision + lib). */
export function buildPV(i: PVInputs): V1PersistentVolume {
    const block = volumeModeOf(i.claim) === 'Block';
    const capBytes = i.volume.capacity_bytes > 0n ? i.volume.capacity_bytes : i.requestedBytes;
    const prov = i.secretRefs.provisioner;
    const topo = (i.volume.accessible_topology ?? []).filter((t) => Object.keys(t.segments ?? {}).length > 0);
    const ref = (k: SecretKind) => (i.secretRefs[k] ? { name: i.secretRefs[k].name, namespace: i.secretRefs[k].namespace } : undefined);
    return {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
            name: i.pvName,
            annotations: {
                [ANN_DYNAMICALLY_PROVISIONED]: i.driver,
                [ANN_DELETION_SECRET_NAME]: prov?.name ?? '',
                [ANN_DELETION_SECRET_NAMESPACE]: prov?.namespace ?? '',
            },
            finalizers: [FINALIZER_EXTERNAL_PROVISIONER],
        },
        spec: {
            accessModes: i.claim.spec?.accessModes,
            capacity: { storage: formatBytes(capBytes) },
            persistentVolumeReclaimPolicy: i.sc.reclaimPolicy ?? 'Delete',
            mountOptions: i.sc.mountOptions,
            volumeMode: i.claim.spec?.volumeMode,
            storageClassName: claimClass(i.claim),
            volumeAttributesClassName: i.claim.spec?.volumeAttributesClassName,
            claimRef: {
                kind: 'PersistentVolumeClaim',
                apiVersion: 'v1',
                namespace: i.claim.metadata?.namespace,
                name: i.claim.metadata?.name,
                uid: i.claim.metadata?.uid,
                resourceVersion: i.claim.metadata?.resourceVersion,
            },
            csi: {
                driver: i.driver,
                volumeHandle: i.volume.volume_id,
                volumeAttributes: { [ATTR_PROVISIONER_IDENTITY]: i.identity, ...(i.volume.volume_context ?? {}) },
                ...(block || !i.fsType ? {} : { fsType: i.fsType }),
                controllerPublishSecretRef: ref('controller-publish'),
                nodeStageSecretRef: ref('node-stage'),
                nodePublishSecretRef: ref('node-publish'),
                controllerExpandSecretRef: ref('controller-expand'),
                nodeExpandSecretRef: ref('node-expand'),
            },
            ...(topo.length
                ? {
                      nodeAffinity: {
                          required: {
                              nodeSelectorTerms: topo.map((t) => ({
                                  matchExpressions: Object.entries(t.segments).map(([key, value]) => ({ key, operator: 'In', values: [value] })),
                              })),
                          },
                      },
                  }
                : {}),
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Data sources: which claims we may provision from a VolumeSnapshot (restore) or another claim
// (clone), and the CreateVolume content source for them. external-provisioner controller.go
// dataSource, prepareProvision, checkDriverCapabilities, getPVCSource, getSnapshotSource.
// A claim with a data source is never provisioned without its content source: every path here
// either yields the content source or throws.

/** The API group of VolumeSnapshot / VolumeSnapshotContent. */
export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
/** The VolumeSnapshot API version we read. */
export const SNAPSHOT_VERSION = 'v1';
/** On a claim that is the source of a clone still in progress (external-provisioner pvcCloneFinalizer). */
export const FINALIZER_CLONE_PROTECTION = 'provisioner.storage.kubernetes.io/cloning-protection';
/** On a VolumeSnapshot a restore is using (external-provisioner snapshotSourceProtectionFinalizer); we do not set it yet, but honour it. */
export const FINALIZER_SNAPSHOT_AS_SOURCE = 'provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection';
/** VolumeSnapshotContent annotation allowing a restore into another volume mode. */
export const ANN_ALLOW_VOLUME_MODE_CHANGE = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';
/** Message of the Normal `Provisioning` event for a data source an external populator handles. */
export const POPULATOR_EVENT = 'Assuming an external populator will provision the volume';

/**
 * Not ours to provision (upstream controller.IgnoredError): no ProvisioningFailed event and no
 * retry; the claim is looked at again when it changes.
 */
export class ProvisionIgnored extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'ProvisionIgnored';
    }
}

/** A claim's data source, normalised from `dataSource` or `dataSourceRef` (apiGroup '' = core). */
export interface DataSource {
    kind: string;
    name: string;
    apiGroup: string;
    namespace: string;
}

/** What a data source asks of the provisioner: restore, clone, or nothing (an external populator's). */
export type SourceType = 'snapshot' | 'clone' | 'populator';

const describeRef = (r: { kind?: string; name?: string; apiGroup?: string }) => `${r.apiGroup ? `${r.apiGroup}/` : ''}${r.kind ?? ''} ${JSON.stringify(r.name ?? '')}`;

/**
 * The claim's data source (controller.go dataSource): `dataSource` when set, else `dataSourceRef`
 * (in the claim's namespace). Undefined when it has neither.
 * @throws ProvisionError for a cross-namespace `dataSourceRef` (the CrossNamespaceVolumeDataSource
 * gate is off upstream by default; upstream's message) and, beyond upstream, for `dataSource` and
 * `dataSourceRef` naming different objects (the API server rejects that, but a claim written
 * before it validated, or a lenient server, must not be provisioned from the wrong one).
 */
export function claimDataSource(claim: V1PersistentVolumeClaim): DataSource | undefined {
    const ds = claim.spec?.dataSource;
    const ref = claim.spec?.dataSourceRef;
    const namespace = claim.metadata?.namespace ?? '';
    if (ref?.namespace) throw new ProvisionError('dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled', { final: true });
    if (ds && ref && (ds.kind !== ref.kind || ds.name !== ref.name || (ds.apiGroup ?? '') !== (ref.apiGroup ?? '')))
        throw new ProvisionError(`dataSource (${describeRef(ds)}) and dataSourceRef (${describeRef(ref)}) name different objects`, { final: true });
    const src = ds ?? ref;
    if (!src) return undefined;
    return { kind: src.kind ?? '', name: src.name ?? '', apiGroup: src.apiGroup ?? '', namespace };
}

/**
 * What the data source asks for (prepareProvision's switch on the kind).
 * A `PersistentVolumeClaim` in a non-core API group is someone else's resource: we treat it as
 * a populator's (upstream would clone the core claim of that name).
 * @throws ProvisionError for an empty name (`the PVC source not found for PVC <claim>`) and for a
 * `VolumeSnapshot` outside snapshot.storage.k8s.io
 */
export function sourceType(ds: DataSource, claimName: string): SourceType {
    if (!ds.name) throw new ProvisionError(`the PVC source not found for PVC ${claimName}`, { final: true });
    if (ds.kind === 'VolumeSnapshot') {
        if (ds.apiGroup !== SNAPSHOT_GROUP) throw new ProvisionError(`the PVC source does not belong to the right APIGroup. Expected ${SNAPSHOT_GROUP}, Got ${ds.apiGroup}`, { final: true });
        return 'snapshot';
    }
    if (ds.kind === 'PersistentVolumeClaim' && ds.apiGroup === '') return 'clone';
    return 'populator';
}

/** The IgnoredError reason for a populator's data source (upstream wording). */
export function populatorReason(ds: DataSource): string {
    return `data source (${ds.kind}) is not handled by the provisioner, assuming an external populator will provision it`;
}

/**
 * checkDriverCapabilities: dynamic provisioning needs CONTROLLER_SERVICE and
 * CREATE_DELETE_VOLUME; a restore needs CREATE_DELETE_SNAPSHOT, a clone CLONE_VOLUME.
 * @throws ProvisionError with upstream's messages
 */
export function checkDriverCapabilities(plugin: readonly PluginCapabilityName[], controller: readonly ControllerCapabilityName[], source: SourceType | undefined): void {
    if (!plugin.includes('CONTROLLER_SERVICE')) throw new ProvisionError('CSI driver does not support dynamic provisioning: plugin CONTROLLER_SERVICE capability is not reported', { final: true });
    if (!controller.includes('CREATE_DELETE_VOLUME'))
        throw new ProvisionError('CSI driver does not support dynamic provisioning: controller CREATE_DELETE_VOLUME capability is not reported', { final: true });
    if (source === 'snapshot' && !controller.includes('CREATE_DELETE_SNAPSHOT'))
        throw new ProvisionError('CSI driver does not support snapshot restore: controller CREATE_DELETE_SNAPSHOT capability is not reported', { final: true });
    if (source === 'clone' && !controller.includes('CLONE_VOLUME'))
        throw new ProvisionError('CSI driver does not support clone operations: controller CLONE_VOLUME capability is not reported', { final: true });
}

/** `ns/name` of the claim this claim clones (a same-namespace core PersistentVolumeClaim data source), else undefined. Never throws. */
export function cloneSourceKey(claim: V1PersistentVolumeClaim): string | undefined {
    try {
        const ds = claimDataSource(claim);
        return ds && ds.name && sourceType(ds, '') === 'clone' ? `${ds.namespace}/${ds.name}` : undefined;
    } catch {
        return undefined;
    }
}

/** prepareProvision's wrapping of every content-source error. */
function handleError(ds: DataSource, msg: string): ProvisionError {
    return new ProvisionError(`error getting handle for DataSource Type ${ds.kind} by Name ${ds.name}: ${msg}`);
}

/** What the clone check reads: the source claim (informer cache) and its PV (live GET). */
export interface CloneInputs {
    /** The source claim, or undefined when it does not exist. */
    source: V1PersistentVolumeClaim | undefined;
    /** The source claim's PV, or undefined when it could not be read. */
    volume: V1PersistentVolume | undefined;
    /** The claim already carries our in-flight record: a CreateVolume may have run. */
    inFlight: boolean;
}

/**
 * The content source for cloning `ds` into `claim` (getPVCSource, in its order): the source
 * claim must exist, be Bound and not being deleted, both claims must name a class, the request
 * must be at least the source's, and its PV must be a Bound CSI volume of the class's driver
 * bound to that very claim, of the same volume mode.
 * Beyond upstream: a source being deleted is accepted while this claim is in flight and the
 * source still carries our cloning-protection finalizer, so a CreateVolume that may have run can
 * be finished or undone with the same request (the finalizer keeps the source and its PV).
 * @returns `{ volume: { volume_id: <source PV volumeHandle> } }`
 * @throws ProvisionError `error getting handle for DataSource Type PersistentVolumeClaim by Name <name>: <upstream reason>`
 */
export function cloneContentSource(claim: V1PersistentVolumeClaim, sc: V1StorageClass, ds: DataSource, i: CloneInputs): VolumeContentSource {
    const fail = (msg: string) => handleError(ds, msg);
    const src = i.source;
    if (!src) throw fail(`error getting PVC ${ds.name} (namespace ${JSON.stringify(claim.metadata?.namespace ?? '')}) from api server: persistentvolumeclaim ${JSON.stringify(ds.name)} not found`);
    if (src.status?.phase !== 'Bound') throw fail(`the PVC DataSource ${ds.name} must have a status of Bound.  Got ${JSON.stringify(src.status ?? {})}`);
    if (src.metadata?.deletionTimestamp && !(i.inFlight && src.metadata.finalizers?.includes(FINALIZER_CLONE_PROTECTION)))
        throw fail(`the PVC DataSource ${ds.name} is currently being deleted`);
    if (src.spec?.storageClassName == null) throw fail(`the source PVC (${src.metadata?.name}) storageclass cannot be empty`);
    if (claim.spec?.storageClassName == null) throw fail(`the requested PVC (${claim.metadata?.name}) storageclass cannot be empty`);
    const requested = tryParseQuantity(claim.spec?.resources?.requests?.storage) ?? 0n;
    const srcSize = tryParseQuantity(src.spec?.resources?.requests?.storage) ?? 0n;
    if (requested < srcSize) throw fail(`error, new PVC request must be greater than or equal in size to the specified PVC data source, requested ${requested} but source is ${srcSize}`);
    if (!src.spec?.volumeName) throw fail(`volume name is empty in source PVC ${src.metadata?.name}`);
    const pv = i.volume;
    const ref = pv?.spec?.claimRef;
    const invalid =
        !pv ||
        pv.metadata?.name !== src.spec.volumeName ||
        !pv.spec?.csi ||
        pv.spec.csi.driver !== sc.provisioner ||
        !ref ||
        ref.uid !== src.metadata?.uid ||
        ref.namespace !== src.metadata?.namespace ||
        ref.name !== src.metadata?.name ||
        pv.status?.phase !== 'Bound';
    if (invalid || !pv.spec?.csi) throw fail('claim in dataSource not bound or invalid');
    const wanted = volumeModeOf(claim);
    const have = volumeModeOf(pv);
    if (wanted !== have) throw fail(`the source PVC and destination PVCs must have the same volume mode for cloning.  Source is ${have}, but new PVC requested ${wanted}`);
    return { volume: { volume_id: pv.spec.csi.volumeHandle } };
}

/** The parts of a snapshot.storage.k8s.io/v1 VolumeSnapshot we read (plain JSON from the API). */
export interface VolumeSnapshot {
    metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string | Date; finalizers?: string[] };
    status?: { boundVolumeSnapshotContentName?: string; readyToUse?: boolean; restoreSize?: string; error?: { message?: string } };
}

/** The parts of a snapshot.storage.k8s.io/v1 VolumeSnapshotContent we read. */
export interface VolumeSnapshotContent {
    metadata?: { name?: string; annotations?: Record<string, string> };
    spec?: { driver?: string; sourceVolumeMode?: string; volumeSnapshotRef?: { name?: string; namespace?: string; uid?: string } };
    status?: { snapshotHandle?: string; readyToUse?: boolean };
}

/** What the restore check reads, live from the API. */
export interface SnapshotInputs {
    /** The VolumeSnapshot, or the reason it could not be read (`snapshotError`). */
    snapshot?: VolumeSnapshot;
    snapshotError?: string;
    /** Its bound VolumeSnapshotContent, or the reason it could not be read (`contentError`, appended to upstream's message). */
    content?: VolumeSnapshotContent;
    contentError?: string;
    /** The claim already carries our in-flight record: a CreateVolume may have run. */
    inFlight: boolean;
}

/**
 * The content source for restoring snapshot `ds` into `claim` (getSnapshotSource, in its order):
 * the snapshot must exist and not be being deleted (unless it carries the provisioner's
 * source-protection finalizer, or, beyond upstream, this claim is in flight), be bound to a
 * content that points back at it, is of the class's driver and has a snapshot handle, be
 * readyToUse, the request must be at least its restoreSize, and a volume-mode change needs
 * `snapshot.storage.kubernetes.io/allow-volume-mode-change: "true"` on the content
 * (--prevent-volume-mode-conversion, on by default upstream and always here).
 * @returns `{ snapshot: { snapshot_id: <content status.snapshotHandle> } }`
 * @throws ProvisionError `error getting handle for DataSource Type VolumeSnapshot by Name <name>: <upstream reason>`
 */
export function snapshotContentSource(claim: V1PersistentVolumeClaim, sc: V1StorageClass, ds: DataSource, i: SnapshotInputs): VolumeContentSource {
    const fail = (msg: string) => handleError(ds, msg);
    const snap = i.snapshot;
    if (!snap) throw fail(`error getting snapshot ${ds.name} from api server: ${i.snapshotError ?? 'not found'}`);
    if (snap.metadata?.deletionTimestamp && !i.inFlight && !snap.metadata.finalizers?.includes(FINALIZER_SNAPSHOT_AS_SOURCE)) throw fail(`snapshot ${ds.name} is being deleted`);
    const contentName = snap.status?.boundVolumeSnapshotContentName;
    if (!contentName) throw fail(`snapshot ${ds.name} not bound`);
    const content = i.content;
    if (!content) throw fail(`error getting snapshotcontent ${contentName} for snapshot ${ds.name}${i.contentError ? `: ${i.contentError}` : ''}`);
    const back = content.spec?.volumeSnapshotRef;
    if (back?.uid !== snap.metadata?.uid || back?.namespace !== snap.metadata?.namespace || back?.name !== snap.metadata?.name)
        throw fail(`snapshotcontent ${contentName} for snapshot ${ds.name} is bound to a different snapshot`);
    if (content.spec?.driver !== sc.provisioner) throw fail(`snapshotcontent ${contentName} for snapshot ${ds.name} is not handled by CSI driver of StorageClass ${sc.metadata?.name}`);
    if (snap.status?.readyToUse !== true) throw fail(`snapshot ${ds.name} is not Ready`);
    const handle = content.status?.snapshotHandle;
    if (!handle) throw fail(`snapshot handle ${ds.name} is not available`);
    if (snap.status?.restoreSize !== undefined) {
        const req = claim.spec?.resources?.requests?.storage;
        if (req === undefined) throw fail(`error getting capacity for PVC ${claim.metadata?.name} when creating snapshot ${snap.metadata?.name}`);
        const requested = tryParseQuantity(req) ?? 0n;
        const restore = tryParseQuantity(snap.status.restoreSize) ?? 0n;
        if (requested < restore) throw fail(`requested volume size ${requested} is less than the size ${restore} for the source snapshot ${snap.metadata?.name}`);
    }
    const from = content.spec?.sourceVolumeMode;
    const to = claim.spec?.volumeMode;
    if (from && to && from !== to) {
        const who = `requested volume ${claim.metadata?.namespace}/${claim.metadata?.name} modifies the mode of the source volume but does not have permission to do so.`;
        const allow = content.metadata?.annotations?.[ANN_ALLOW_VOLUME_MODE_CHANGE];
        if (allow === undefined) throw fail(`${who} ${ANN_ALLOW_VOLUME_MODE_CHANGE} annotation is not present on snapshotcontent ${content.metadata?.name}`);
        const parsed = parseGoBool(allow);
        if (parsed === undefined) throw fail(`${who} failed to convert ${ANN_ALLOW_VOLUME_MODE_CHANGE} annotation value to boolean with error: strconv.ParseBool: parsing ${JSON.stringify(allow)}: invalid syntax`);
        if (!parsed) throw fail(`${who} ${ANN_ALLOW_VOLUME_MODE_CHANGE} is set to false on snapshotcontent ${content.metadata?.name}`);
    }
    return { snapshot: { snapshot_id: handle } };
}

/** Go strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; undefined otherwise. */
function parseGoBool(s: string): boolean | undefined {
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
    return undefined;
}

/** True when a CreateVolume response says which content it was created from (Volume.content_source). */
export function hasContentSource(v: Volume): boolean {
    return !!(v.content_source?.snapshot || v.content_source?.volume);
}

/** True when the claim names any data source (dataSource or dataSourceRef). */
export function hasDataSource(claim: V1PersistentVolumeClaim): boolean {
    return !!(claim.spec?.dataSource || claim.spec?.dataSourceRef);
}
