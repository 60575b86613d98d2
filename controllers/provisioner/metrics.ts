import client from 'prom-client';
import type { Metrics } from '../../src/http/metrics.ts';

/** sig-storage-lib-external-provisioner metrics (subsystem `controller`), upstream names and labels. */
export interface ProvisionerMetrics {
    provisionTotal: client.Counter<'class' | 'source'>;
    provisionFailed: client.Counter<'class' | 'source'>;
    provisionDuration: client.Histogram<'class' | 'source'>;
    deleteTotal: client.Counter<'class'>;
    deleteFailed: client.Counter<'class'>;
    deleteDuration: client.Histogram<'class'>;
}

export function registerProvisionerMetrics(m: Metrics): ProvisionerMetrics {
    const r = [m.registry];
    return {
        provisionTotal: new client.Counter({ name: 'controller_persistentvolumeclaim_provision_total', help: 'Total number of persistent volumes provisioned succesfully. Broken down by storage class name and source of the claim.', labelNames: ['class', 'source'], registers: r }),
        provisionFailed: new client.Counter({ name: 'controller_persistentvolumeclaim_provision_failed_total', help: 'Total number of persistent volume provision failed attempts. Broken down by storage class name and source of the claim.', labelNames: ['class', 'source'], registers: r }),
        provisionDuration: new client.Histogram({ name: 'controller_persistentvolumeclaim_provision_duration_seconds', help: 'Latency in seconds to provision persistent volumes. Failed provisioning attempts are ignored. Broken down by storage class name and source of the claim.', labelNames: ['class', 'source'], registers: r }),
        deleteTotal: new client.Counter({ name: 'controller_persistentvolume_delete_total', help: 'Total number of persistent volumes deleted succesfully. Broken down by storage class name.', labelNames: ['class'], registers: r }),
        deleteFailed: new client.Counter({ name: 'controller_persistentvolume_delete_failed_total', help: 'Total number of persistent volume delete failed attempts. Broken down by storage class name.', labelNames: ['class'], registers: r }),
        deleteDuration: new client.Histogram({ name: 'controller_persistentvolume_delete_duration_seconds', help: 'Latency in seconds to delete persistent volumes. Failed deletion attempts are ignored. Broken down by storage class name.', labelNames: ['class'], registers: r }),
    };
}
