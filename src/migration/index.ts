// CSI migration: the one place every loop translates in-tree volume specs through. The
// translation of each in-tree plugin upstream migrates to its CSI driver and back (PVs, pod
// inline volumes, StorageClasses, topology), and which plugins count as migrated.
// Mirrors k8s.io/csi-translation-lib v0.36 (translate.go, plugins/*.go) and
// pkg/volume/csimigration (plugin_manager.go) of kubernetes v1.36.
import type { V1CSINode, V1CSIPersistentVolumeSource, V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { goQuote } from './go.ts';
import { TranslationError, deepCopy, fail } from './plugin.ts';
import type { InTreePlugin } from './plugin.ts';
import { awsEbs } from './plugins/aws-ebs.ts';
import { azureDisk } from './plugins/azure-disk.ts';
import { azureFile } from './plugins/azure-file.ts';
import { cinder } from './plugins/cinder.ts';
import { gcePd } from './plugins/gce-pd.ts';
import { portworx } from './plugins/portworx.ts';
import { vsphere } from './plugins/vsphere.ts';

export { TranslationError };
export type { InTreePlugin };

/** CSINode annotation listing (comma-separated) the in-tree plugins the node's kubelet serves through CSI. */
export const ANN_MIGRATED_PLUGINS = 'storage.alpha.kubernetes.io/migrated-plugins';

/** The in-tree plugins upstream migrates, in a fixed order (upstream keys a map by driver name). */
export const PLUGINS: readonly InTreePlugin[] = [awsEbs, gcePd, azureDisk, azureFile, cinder, vsphere, portworx];

const byInTreeName = new Map(PLUGINS.map((p) => [p.inTreeName, p]));
const byDriverName = new Map(PLUGINS.map((p) => [p.driverName, p]));

/** The plugin whose in-tree name is name, if upstream migrates it. */
export function pluginByInTreeName(name: string): InTreePlugin | undefined {
    return byInTreeName.get(name);
}

/** The plugin migrated to CSI driver name, if any. */
export function pluginByDriverName(name: string): InTreePlugin | undefined {
    return byDriverName.get(name);
}

/** The plugin that handles this PV's source, if any (CanSupport). */
export function pluginForPV(pv: V1PersistentVolume | undefined): InTreePlugin | undefined {
    return PLUGINS.find((p) => p.canSupport(pv));
}

/** The plugin that handles this pod volume's source, if any (CanSupportInline). */
export function pluginForInline(volume: V1Volume | undefined): InTreePlugin | undefined {
    return PLUGINS.find((p) => p.canSupportInline(volume));
}

/**
 * The PV with its in-tree source replaced by the CSI one (a copy; pv is not modified)
 * (TranslateInTreePVToCSI).
 * @throws TranslationError when no plugin handles the source or its translation fails
 */
export function translateInTreePVToCSI(pv: V1PersistentVolume): V1PersistentVolume {
    if (!pv) fail('persistent volume was nil');
    const copy = deepCopy(pv);
    const plugin = pluginForPV(copy);
    if (!plugin) fail(`could not find in-tree plugin translation logic for ${goQuote(copy.metadata?.name ?? '')}`);
    return plugin.translatePV(copy);
}

/**
 * The PV with its CSI source replaced by the in-tree source of the plugin migrated to its driver
 * (a copy) (TranslateCSIPVToInTree).
 * @throws TranslationError when the PV has no CSI source, its driver replaces no plugin, or the translation fails
 */
export function translateCSIPVToInTree(pv: V1PersistentVolume): V1PersistentVolume {
    if (!pv?.spec?.csi) fail('CSI persistent volume was nil');
    const copy = deepCopy(pv);
    const plugin = pluginByDriverName(copy.spec?.csi?.driver ?? '');
    if (!plugin) fail(`could not find in-tree plugin translation logic for ${copy.spec?.csi?.driver}`);
    return plugin.translateCSIPV(copy);
}

/**
 * A pod's inline in-tree volume as a CSI PV (volume mode Filesystem unless the plugin set it)
 * (TranslateInTreeInlineVolumeToCSI). @param podNamespace the pod's namespace (azure-file's secret namespace)
 * @throws TranslationError when no plugin handles the source or its translation fails
 */
export function translateInTreeInlineVolumeToCSI(volume: V1Volume, podNamespace: string): V1PersistentVolume {
    if (!volume) fail('persistent volume was nil');
    const plugin = pluginForInline(volume);
    if (!plugin) fail(`could not find in-tree plugin translation logic for ${goQuote(volume.name ?? '')}`);
    const pv = plugin.translateInline(volume, podNamespace);
    (pv.spec ??= {}).volumeMode ??= 'Filesystem';
    return pv;
}

/**
 * The StorageClass with parameters and allowed topologies for the CSI driver (a copy)
 * (TranslateInTreeStorageClassToCSI). @param inTreePluginName e.g. the class's provisioner
 * @throws TranslationError for a plugin without translation, or conflicting zone parameters and allowed topologies
 */
export function translateInTreeStorageClassToCSI(inTreePluginName: string, sc: V1StorageClass): V1StorageClass {
    const plugin = pluginByInTreeName(inTreePluginName);
    if (!plugin) fail(`could not find in-tree storage class parameter translation logic for ${goQuote(inTreePluginName)}`);
    return plugin.translateStorageClass(sc);
}

/** Whether upstream has translation logic for the in-tree plugin with this name (IsMigratableIntreePluginByName). */
export function isMigratableIntreePluginByName(name: string): boolean {
    return byInTreeName.has(name);
}

/** Whether this CSI driver replaces an in-tree plugin (IsMigratedCSIDriverByName). */
export function isMigratedCSIDriverByName(name: string): boolean {
    return byDriverName.has(name);
}

/** The CSI driver that replaces an in-tree plugin (GetCSINameFromInTreeName). @throws TranslationError for an unknown plugin */
export function csiNameFromInTreeName(pluginName: string): string {
    const p = byInTreeName.get(pluginName);
    if (!p) fail(`could not find CSI Driver name for plugin ${pluginName}`);
    return p.driverName;
}

/** The in-tree plugin a CSI driver replaces (GetInTreeNameFromCSIName). @throws TranslationError for an unknown driver */
export function inTreeNameFromCSIName(driverName: string): string {
    const p = byDriverName.get(driverName);
    if (!p) fail(`could not find In-Tree driver name for CSI plugin ${driverName}`);
    return p.inTreeName;
}

/**
 * The in-tree plugin of a PV (when given) or else of a pod volume (GetInTreePluginNameFromSpec).
 * @throws TranslationError when neither is given or no plugin handles the source
 */
export function inTreePluginNameFromSpec(pv: V1PersistentVolume | undefined, volume: V1Volume | undefined): string {
    if (pv) {
        const p = pluginForPV(pv);
        if (!p) fail(`could not find in-tree plugin name from persistent volume ${pv.metadata?.name ?? ''}`);
        return p.inTreeName;
    }
    if (volume) {
        const p = pluginForInline(volume);
        if (!p) fail(`could not find in-tree plugin name from volume ${volume.name ?? ''}`);
        return p.inTreeName;
    }
    return fail('both persistent volume and volume are nil');
}

/** Whether a plugin translates this PV (IsPVMigratable). */
export function isPVMigratable(pv: V1PersistentVolume | undefined): boolean {
    return pluginForPV(pv) !== undefined;
}

/** Whether a plugin translates this pod volume (IsInlineMigratable). */
export function isInlineMigratable(volume: V1Volume | undefined): boolean {
    return pluginForInline(volume) !== undefined;
}

/** A fully specified volume handle from a partial one and the node ID (RepairVolumeHandle). @throws TranslationError for an unknown driver or a bad handle */
export function repairVolumeHandle(driverName: string, volumeHandle: string, nodeID: string): string {
    const p = byDriverName.get(driverName);
    if (!p) fail(`could not find In-Tree driver name for CSI plugin ${driverName}`);
    return p.repairVolumeHandle(volumeHandle, nodeID);
}

// ---- which plugins are migrated (pkg/volume/csimigration plugin_manager.go) ----------------

/**
 * Whether CSI migration is on for an in-tree plugin (IsMigrationEnabledForPlugin). In v1.36 the
 * CSIMigration gates of all seven plugins are GA and locked on, so: whether it is one of them.
 */
export function isMigrationEnabledForPlugin(pluginName: string): boolean {
    return byInTreeName.has(pluginName);
}

/**
 * Whether migration is complete for an in-tree plugin, i.e. its in-tree code is unregistered
 * everywhere and every node is expected to serve it through CSI (IsMigrationCompleteForPlugin).
 * True for all seven in v1.36.
 */
export function isMigrationCompleteForPlugin(pluginName: string): boolean {
    return isMigrationEnabledForPlugin(pluginName);
}

/** A volume as the controllers see it: a PV (of a claim) or a pod's inline volume. */
export interface VolumeSpec {
    pv?: V1PersistentVolume;
    volume?: V1Volume;
}

/** Whether the spec's in-tree plugin is migrated (IsMigratable); false for CSI and non-migratable sources. */
export function isMigratable(spec: VolumeSpec): boolean {
    const p = spec.pv ? pluginForPV(spec.pv) : spec.volume ? pluginForInline(spec.volume) : undefined;
    return p !== undefined && isMigrationEnabledForPlugin(p.inTreeName);
}

/** A translated spec: the CSI PV, and whether it came from a pod's inline volume. */
export interface TranslatedSpec {
    pv: V1PersistentVolume;
    inline: boolean;
}

/**
 * The spec translated to CSI (TranslateInTreeSpecToCSI).
 * @throws TranslationError `failed to translate in-tree pv to CSI: <reason>`
 */
export function translateInTreeSpecToCSI(spec: VolumeSpec, podNamespace: string): TranslatedSpec {
    try {
        if (spec.pv) return { pv: translateInTreePVToCSI(spec.pv), inline: false };
        if (spec.volume) return { pv: translateInTreeInlineVolumeToCSI(spec.volume, podNamespace), inline: true };
        return fail('not a valid volume spec');
    } catch (e) {
        return fail(`failed to translate in-tree pv to CSI: ${(e as Error).message}`);
    }
}

/** The in-tree plugins a CSINode's annotation lists as served through CSI on that node. */
export function migratedPluginsOnNode(csiNode: V1CSINode | undefined): Set<string> {
    const ann = csiNode?.metadata?.annotations?.[ANN_MIGRATED_PLUGINS];
    return new Set(ann === undefined ? [] : ann.split(','));
}

/**
 * Whether a node serves this in-tree plugin through CSI (the attach-detach controller's
 * isCSIMigrationSupportedOnNode): always when migration is complete for the plugin (all seven in
 * v1.36: the CSINode is not consulted); otherwise when the node's CSINode lists the plugin in
 * `storage.alpha.kubernetes.io/migrated-plugins`.
 */
export function isCSIMigrationSupportedOnNode(pluginName: string, csiNode: V1CSINode | undefined): boolean {
    if (!pluginName) return false;
    if (isMigrationCompleteForPlugin(pluginName)) return true;
    return migratedPluginsOnNode(csiNode).has(pluginName);
}

/**
 * A PV's CSI source: its own, or (migrated in-tree PV) the translated one. Undefined for other
 * sources. @throws TranslationError when a migrated PV's translation fails
 */
export function csiSourceOf(pv: V1PersistentVolume): V1CSIPersistentVolumeSource | undefined {
    if (pv.spec?.csi) return pv.spec.csi;
    if (!isMigratable({ pv })) return undefined;
    return translateInTreePVToCSI(pv).spec?.csi;
}
