// The built-in CSI driver `dir.csi.volume-controller-manager.io`: a directory-backed driver whose
// volumes are directories on one data directory shared by all its processes. It is a complete CSI
// plugin in two roles:
// - controller (Identity + Controller): BuiltinDriver, inside the controller-manager process
//   (`--builtin-driver-dir`) or on a socket (serve-builtin.ts);
// - node plugin (Identity + Node): BuiltinNode, run on every node as
//   `volume-controller-manager node-plugin` (cmd/node-plugin.ts) and registered with the kubelet
//   through node-driver-registrar.
// The code lives in builtin/: store.ts (the on-disk layout, safe for several processes),
// controller.ts, snapshots.ts, node.ts and mounts.ts. See docs/builtin-driver.md.
export { BUILTIN_DRIVER_NAME, BUILTIN_DRIVER_VERSION } from './builtin/common.ts';
export { BuiltinDriver, volumeIdFor } from './builtin/controller.ts';
export type { BuiltinDriverOptions } from './builtin/controller.ts';
export { BuiltinNode, directoryUsage } from './builtin/node.ts';
export type { BuiltinNodeOptions } from './builtin/node.ts';
export { snapshotIdFor } from './builtin/snapshots.ts';
export { prepareDataDir } from './builtin/store.ts';
