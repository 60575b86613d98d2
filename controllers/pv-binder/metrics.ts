import client from 'prom-client';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Metrics } from '../../src/http/metrics.ts';
import { claimClass, volumeClass, volumeModeOf } from '../../src/storage/helpers.ts';

/** The PV controller's metrics, with upstream names (pkg/controller/volume/persistentvolume/metrics). */
export interface BinderMetrics {
    retroactive: client.Counter;
    retroactiveErrors: client.Counter;
    operationSeconds: client.Histogram<'plugin_name' | 'operation_name'>;
}

/**
 * Registers the binder metrics; the pv_collector_* gauges are computed from the caches at
 * scrape time, like upstream's PV/PVC collector.
 */
export function registerBinderMetrics(m: Metrics, volumes: () => Iterable<V1PersistentVolume>, claims: () => Iterable<V1PersistentVolumeClaim>): BinderMetrics {
    const r = [m.registry];
    const count = <T>(items: Iterable<T>, labels: (o: T) => Record<string, string> | undefined) => {
        const out = new Map<string, { labels: Record<string, string>; n: number }>();
        for (const o of items) {
            const l = labels(o);
            if (!l) continue;
            const k = JSON.stringify(l);
            const e = out.get(k);
            if (e) e.n++;
            else out.set(k, { labels: l, n: 1 });
        }
        return out.values();
    };
    const gauge = <T>(name: string, help: string, labelNames: string[], items: () => Iterable<T>, labels: (o: T) => Record<string, string> | undefined) =>
        new client.Gauge({
            name,
            help,
            labelNames,
            registers: r,
            collect() {
                this.reset();
                for (const e of count(items(), labels)) this.set(e.labels, e.n);
            },
        });
    const plugin = (pv: V1PersistentVolume) => (pv.spec?.csi ? `kubernetes.io/csi:${pv.spec.csi.driver}` : pv.spec?.hostPath ? 'kubernetes.io/host-path' : pv.spec?.local ? 'kubernetes.io/local-volume' : 'N/A');
    gauge('pv_collector_total_pv_count', 'Gauge measuring total number of persistent volumes', ['plugin_name', 'volume_mode'], volumes, (pv) => ({ plugin_name: plugin(pv), volume_mode: volumeModeOf(pv) }));
    gauge('pv_collector_bound_pv_count', 'Gauge measuring number of persistent volume currently bound', ['storage_class'], volumes, (pv) =>
        pv.status?.phase === 'Bound' ? { storage_class: volumeClass(pv) } : undefined,
    );
    gauge('pv_collector_unbound_pv_count', 'Gauge measuring number of persistent volume currently unbound', ['storage_class'], volumes, (pv) =>
        pv.status?.phase !== 'Bound' ? { storage_class: volumeClass(pv) } : undefined,
    );
    const pvcLabels = (c: V1PersistentVolumeClaim) => ({ namespace: c.metadata?.namespace ?? '', storage_class: claimClass(c), volume_attributes_class: c.spec?.volumeAttributesClassName ?? '' });
    gauge('pv_collector_bound_pvc_count', 'Gauge measuring number of persistent volume claim currently bound', ['namespace', 'storage_class', 'volume_attributes_class'], claims, (c) =>
        c.status?.phase === 'Bound' ? pvcLabels(c) : undefined,
    );
    gauge('pv_collector_unbound_pvc_count', 'Gauge measuring number of persistent volume claim currently unbound', ['namespace', 'storage_class', 'volume_attributes_class'], claims, (c) =>
        c.status?.phase !== 'Bound' ? pvcLabels(c) : undefined,
    );
    return {
        retroactive: new client.Counter({ name: 'retroactive_storageclass_total', help: 'Total number of retroactive StorageClass assignments to persistent volume claim', registers: r }),
        retroactiveErrors: new client.Counter({ name: 'retroactive_storageclass_errors_total', help: 'Total number of failed retroactive StorageClass assignments to persistent volume claim', registers: r }),
        operationSeconds: new client.Histogram({
            name: 'volume_operation_total_seconds',
            help: 'Storage operation end to end duration in seconds',
            labelNames: ['plugin_name', 'operation_name'],
            buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600],
            registers: r,
        }),
    };
}
