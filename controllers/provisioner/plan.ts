// Pure pieces of the external-provisioner: names, CreateVolume request, secrets, topology, the
// PV object. No I/O. Mirrors kubernetes-csi/external-provisioner pkg/controller (controller.go,
// topology.go) and csi-lib-utils accessmodes.
import type { V1CSINode, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass, V1TopologySelectorTerm } from '@kubernetes/client-node';
import type { AccessModeName, Topology, TopologyRequirement, Volume, VolumeCapability } from '../../src/csi/types.ts';
import { ANN_DYNAMICALLY_PROVISIONED, FINALIZER_EXTERNAL_PROVISIONER, claimClass, volumeModeOf } from '../../src/storage/helpers.ts';
import { dns1123LabelErrors, dns1123SubdomainErrors, quoteBounded } from '../../src/kube/names.ts';
import { formatBytes } from '../../src/storage/quantity.ts';

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
