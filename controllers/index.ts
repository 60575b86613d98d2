import type { ControllerName } from '../src/config.ts';
import type { ControllerFactory } from '../src/runtime/loop.ts';
import { attachDetach } from './attach-detach/index.ts';
import { attacher } from './attacher/index.ts';
import { provisioner } from './provisioner/index.ts';
import { pvBinder } from './pv-binder/index.ts';
import { pvProtection } from './pv-protection/index.ts';
import { pvcProtection } from './pvc-protection/index.ts';

/**
 * Every controller by its `--controllers` name. A name mapped to undefined is accepted but
 * not implemented yet; main logs that it is skipped.
 */
export const CONTROLLERS: Record<ControllerName, ControllerFactory | undefined> = {
    'pv-binder': pvBinder,
    'pvc-protection': pvcProtection,
    'pv-protection': pvProtection,
    'attach-detach': attachDetach,
    provisioner,
    attacher,
};
