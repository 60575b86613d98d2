// The built-in CSI driver `dir.csi.volume-controller-manager.io`: a directory-backed driver whose
// volumes are directories on one data directory shared by all its processes. Its controller
// (Identity + Controller: BuiltinDriver) runs inside the controller-manager process
// (`--builtin-driver-dir`) or on a socket (serve-builtin.ts).
// The code lives in builtin/: store.ts (the on-disk layout, safe for several processes),
// controller.ts and snapshots.ts.
export { BUILTIN_DRIVER_NAME, BUILTIN_DRIVER_VERSION } from './builtin/common.ts';
export { BuiltinDriver, volumeIdFor } from './builtin/controller.ts';
export type { BuiltinDriverOptions } from './builtin/controller.ts';
export { snapshotIdFor } from './builtin/snapshots.ts';
export { prepareDataDir } from './builtin/store.ts';
