// What the built-in driver's controller and node sides share: its name and identity, the checks
// of volume capabilities and parameters, and the CSI error helper.
import fs from 'node:fs';
import { status as Code } from '@grpc/grpc-js';
import { z } from 'zod';
import { CsiError } from '../errors.ts';
import type { AccessModeName, PluginCapabilityName, StringMap, VolumeCapability } from '../types.ts';

/** The built-in driver's CSI name (the StorageClass provisioner and VolumeAttachment attacher). */
export const BUILTIN_DRIVER_NAME = 'dir.csi.volume-controller-manager.io';
export const BUILTIN_DRIVER_VERSION = '0.2.0';

/** Throws CsiError(code, msg); typed `never` so checks narrow. */
export const fail = (code: Code, msg: string): never => {
    throw new CsiError(code, msg);
};

export const SINGLE_NODE = new Set<AccessModeName>(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER']);
export const READ_ONLY_MODES = new Set<AccessModeName>(['SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY']);
const KNOWN_MODES = new Set<AccessModeName>([...SINGLE_NODE, 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER']);

/**
 * Mount flags a bind mount can take (per-mount flags, applied with `mount -o remount,bind`).
 * Anything else (filesystem options such as `vers=4` or `discard`) has no meaning for a
 * directory and is refused with INVALID_ARGUMENT.
 */
export const BIND_MOUNT_FLAGS = new Set(['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'noatime', 'atime', 'nodiratime', 'diratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime']);

/**
 * Why this driver cannot serve a (well-formed) capability, or undefined when it can: block is
 * refused (a volume is a directory: there is no device to hand out), and mount flags must be
 * ones a bind mount takes. fs_type is ignored: there is no filesystem to make.
 */
export function unsupported(c: VolumeCapability): string | undefined {
    if (c.block) return `block access type is not supported: a ${BUILTIN_DRIVER_NAME} volume is a directory`;
    for (const f of c.mount?.mount_flags ?? []) {
        if (!BIND_MOUNT_FLAGS.has(f)) return `mount flag "${f}" is not supported: a bind mount takes only ${[...BIND_MOUNT_FLAGS].join(', ')}`;
    }
    return undefined;
}

/**
 * Checks volume capabilities (CreateVolume, ControllerPublish, the node RPCs): each sets an
 * access type and a known access mode, and is one this driver serves (see unsupported()).
 * @param o.structureOnly check only that they are well formed (ValidateVolumeCapabilities
 *   answers "not confirmed" for unsupported ones instead of an error)
 * @returns the access modes
 * @throws CsiError INVALID_ARGUMENT naming what is wrong, prefixed with `what` (the RPC)
 */
export function checkCapabilities(caps: VolumeCapability[] | undefined, what: string, o: { structureOnly?: boolean } = {}): AccessModeName[] {
    if (!caps || caps.length === 0) fail(Code.INVALID_ARGUMENT, `${what}: volume capabilities missing in request`);
    const modes: AccessModeName[] = [];
    for (const c of caps as VolumeCapability[]) {
        if (!c.block && !c.mount) fail(Code.INVALID_ARGUMENT, `${what}: volume capability access type not set`);
        if (c.block && c.mount) fail(Code.INVALID_ARGUMENT, `${what}: cannot have both block and mount access types`);
        const m = c.access_mode?.mode;
        if (!m || !KNOWN_MODES.has(m)) fail(Code.INVALID_ARGUMENT, `${what}: volume capability access mode not set or unknown`);
        const why = o.structureOnly ? undefined : unsupported(c);
        if (why) fail(Code.INVALID_ARGUMENT, `${what}: ${why}`);
        modes.push(m as AccessModeName);
    }
    return modes;
}

const octalMode = z.string().regex(/^0?[0-7]{3}$/, 'must be octal permission bits such as 0770');

/** Keys of the CO's own metadata (external-provisioner / csi-snapshotter `--extra-create-metadata`), accepted and ignored. */
const CO_METADATA = /^csi\.storage\.k8s\.io\//;

/** StorageClass parameters (CreateVolume `parameters`). */
export const ParametersSchema = z
    .object({
        /** Octal permission bits of the volume directory, e.g. "0770". */
        directoryMode: octalMode.optional(),
    })
    .strict();

/**
 * Mutable parameters (VolumeAttributesClass parameters: CreateVolume `mutable_parameters` and
 * ControllerModifyVolume): the volume's tier, a label reported in its volume context (no I/O
 * effect: every volume is a directory on the same filesystem), and its directory's permission
 * bits, applied at once.
 */
export const MutableParametersSchema = z
    .object({
        /** A DNS-label-shaped name such as "standard" or "fast". */
        tier: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a lower-case name such as "standard" (letters, digits, dashes; at most 63)').optional(),
        directoryMode: octalMode.optional(),
    })
    .strict();

/** The VolumeSnapshotClass parameters CreateSnapshot accepts: none. */
export const SnapshotParametersSchema = z.object({}).strict();

/**
 * Validates a parameter map against schema, ignoring the CO's `csi.storage.k8s.io/` keys.
 * @returns the map without those keys
 * @throws CsiError INVALID_ARGUMENT naming the first bad key (unknown keys all together)
 */
export function checkParameters(schema: z.ZodType, params: StringMap | undefined, what: string): StringMap {
    const own = Object.fromEntries(Object.entries(params ?? {}).filter(([k]) => !CO_METADATA.test(k)));
    const r = schema.safeParse(own);
    if (!r.success) {
        const issue = r.error.issues[0];
        const name = issue?.code === 'unrecognized_keys' ? (issue.keys as string[]).join(', ') : String(issue?.path[0] ?? '');
        fail(Code.INVALID_ARGUMENT, `invalid ${what} "${name}": ${issue?.code === 'unrecognized_keys' ? 'not supported' : (issue?.message ?? 'invalid')}`);
    }
    return own;
}

/**
 * The driver's plugin capabilities, the same from its controller and its node plugins (they are
 * one plugin): CONTROLLER_SERVICE (served by the controller-manager), and
 * VOLUME_ACCESSIBILITY_CONSTRAINTS when a topology key is configured.
 */
export function pluginCapabilities(topologyKey: string | undefined): PluginCapabilityName[] {
    return topologyKey ? ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS'] : ['CONTROLLER_SERVICE'];
}

/** The permission bits a volume directory gets: its mutable directoryMode, else its class's, else 0750. */
export function directoryMode(parameters: StringMap, mutable: StringMap | undefined): number {
    const m = mutable?.directoryMode ?? parameters.directoryMode;
    return m ? parseInt(m, 8) : 0o750;
}

/** True when p exists and is a directory. */
export function isDirectory(p: string): boolean {
    try {
        return fs.statSync(p).isDirectory();
    } catch {
        return false;
    }
}
