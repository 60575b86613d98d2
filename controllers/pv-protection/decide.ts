import type { V1PersistentVolume } from '@kubernetes/client-node';
import { FINALIZER_PV_PROTECTION } from '../../src/storage/helpers.ts';

/** What the pv-protection controller does with one volume. */
export type PvProtectionAction = 'add-finalizer' | 'remove-finalizer' | 'none';

/** pv_protection_controller.go: add when missing and not deleting; remove when deleting and not Bound. */
export function decidePvProtection(pv: V1PersistentVolume): PvProtectionAction {
    const has = pv.metadata?.finalizers?.includes(FINALIZER_PV_PROTECTION) ?? false;
    if (!pv.metadata?.deletionTimestamp) return has ? 'none' : 'add-finalizer';
    if (has && pv.status?.phase !== 'Bound') return 'remove-finalizer';
    return 'none';
}
