// Snapshots of the built-in driver: a snapshot is a point-in-time copy of a volume's directory,
// kept on the shared data directory with its record (CREATE_DELETE_SNAPSHOT, LIST_SNAPSHOTS,
// GET_SNAPSHOT). Safe for several processes on one directory, as the volumes are.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { status as Code } from '@grpc/grpc-js';
import { timestampFromDate } from '../types.ts';
import type { CreateSnapshotRequest, ListSnapshotsRequest, Snapshot } from '../types.ts';
import { SnapshotParametersSchema, checkParameters, fail, isDirectory } from './common.ts';
import { hashId, validId } from './store.ts';
import type { DirectoryStore, SnapshotRecord } from './store.ts';

/** The snapshot ID for a CreateSnapshot name: `snap-` and a UUID-shaped SHA-256 of the name (the same on every process). */
export function snapshotIdFor(name: string): string {
    return `snap-${hashId(`snapshot:${name}`)}`;
}

/** A record as the CSI Snapshot: always ready_to_use (the record is written after its copy is complete). */
export function toSnapshot(rec: SnapshotRecord): Snapshot {
    return {
        size_bytes: BigInt(rec.sizeBytes),
        snapshot_id: rec.id,
        source_volume_id: rec.sourceVolumeId,
        creation_time: timestampFromDate(new Date(rec.createdAt)),
        ready_to_use: true,
        group_snapshot_id: '',
    };
}

/**
 * CreateSnapshot / DeleteSnapshot / ListSnapshots / GetSnapshot on a DirectoryStore.
 *
 * CreateSnapshot copies the source volume's directory (`cp -a`, in a child process) into
 * `tmp/`, moves it to `snapshots/<id>/<attempt>/`, then creates `snapshots/<id>.json` naming
 * that attempt with `link()`: the first process to link wins, a loser removes its copy and
 * answers with the winner's snapshot. The snapshot is ready when CreateSnapshot returns. A
 * process that dies mid-copy leaves only `tmp/` or an unnamed attempt, swept later; a retry
 * starts afresh. Calls for one name in one process share one copy.
 *
 * DeleteSnapshot removes the record first, then the data: a restore that copied from it checks
 * afterwards that the record still names the same data, so it never keeps a half-deleted copy.
 */
export class BuiltinSnapshots {
    private readonly store: DirectoryStore;
    private readonly inflight = new Map<string, Promise<Snapshot>>();

    constructor(store: DirectoryStore) {
        this.store = store;
    }

    /** Number of snapshots on disk (for tests). */
    count(): number {
        return this.store.snapshots().length;
    }

    /**
     * @throws CsiError INVALID_ARGUMENT (name or source missing, parameters), NOT_FOUND (source
     *   volume), ALREADY_EXISTS (the name is taken by a snapshot of another volume),
     *   FAILED_PRECONDITION (the source has no data yet), RESOURCE_EXHAUSTED (disk full)
     */
    async create(req: CreateSnapshotRequest): Promise<Snapshot> {
        if (!req.name) fail(Code.INVALID_ARGUMENT, 'CreateSnapshot: name missing in request');
        if (!req.source_volume_id) fail(Code.INVALID_ARGUMENT, 'CreateSnapshot: source volume ID missing in request');
        checkParameters(SnapshotParametersSchema, req.parameters, 'snapshot parameter');
        const id = snapshotIdFor(req.name);
        const found = this.store.readSnapshot(id);
        if (found) return this.existing(found, req);
        const running = this.inflight.get(id);
        if (running) {
            await running.catch(() => undefined);
            return this.create(req);
        }
        const p = this.cut(id, req);
        this.inflight.set(id, p);
        try {
            return await p;
        } finally {
            this.inflight.delete(id);
        }
    }

    private existing(rec: SnapshotRecord, req: CreateSnapshotRequest): Snapshot {
        if (rec.name !== req.name) fail(Code.INTERNAL, `snapshot ID ${rec.id} of "${req.name}" is taken by "${rec.name}"`);
        if (rec.sourceVolumeId !== req.source_volume_id)
            fail(Code.ALREADY_EXISTS, `snapshot "${req.name}" already exists with source volume ${rec.sourceVolumeId}, not ${req.source_volume_id}`);
        return toSnapshot(rec);
    }

    private async cut(id: string, req: CreateSnapshotRequest): Promise<Snapshot> {
        const src = this.store.readVolume(req.source_volume_id);
        if (!src) return fail(Code.NOT_FOUND, `source volume ${req.source_volume_id} not found`);
        const from = this.store.volumePath(src.id);
        if (!isDirectory(from)) fail(Code.FAILED_PRECONDITION, `source volume ${src.id} has no data yet (it is being created)`);
        const rec: SnapshotRecord = {
            id,
            name: req.name,
            sourceVolumeId: src.id,
            sizeBytes: src.capacityBytes,
            createdAt: new Date().toISOString(),
            data: crypto.randomUUID(),
        };
        const data = this.store.snapshotDataPath(rec);
        await this.store.copyTree(from, data);
        if (!this.store.createFile(this.store.snapshotRecordPath(id), JSON.stringify(rec, null, 2))) {
            // Another process cut it first: ours is surplus.
            fs.rmSync(data, { recursive: true, force: true });
            const winner = this.store.readSnapshot(id);
            if (!winner) return fail(Code.ABORTED, `snapshot "${req.name}" is being created and deleted concurrently`);
            return this.existing(winner, req);
        }
        return toSnapshot(rec);
    }

    /** Idempotent: an unknown ID is OK. */
    async delete(req: { snapshot_id: string }): Promise<void> {
        if (!req.snapshot_id) fail(Code.INVALID_ARGUMENT, 'DeleteSnapshot: snapshot ID missing in request');
        if (!validId(req.snapshot_id)) return;
        // Record first: from here on no restore starts from it, and one running notices.
        fs.rmSync(this.store.snapshotRecordPath(req.snapshot_id), { force: true });
        fs.rmSync(this.store.snapshotRoot(req.snapshot_id), { recursive: true, force: true });
    }

    /**
     * Snapshots sorted by ID, filtered by snapshot_id and/or source_volume_id (no match: an
     * empty list), paged with max_entries and an index token.
     * @throws CsiError INVALID_ARGUMENT (negative max_entries), ABORTED (invalid starting_token)
     */
    async list(req: ListSnapshotsRequest): Promise<{ entries: Snapshot[]; next_token: string }> {
        const max = req.max_entries ?? 0;
        if (max < 0) fail(Code.INVALID_ARGUMENT, 'ListSnapshots: max_entries must not be negative');
        let recs: SnapshotRecord[];
        if (req.snapshot_id) {
            const one = this.store.readSnapshot(req.snapshot_id);
            recs = one ? [one] : [];
        } else recs = this.store.snapshots();
        if (req.source_volume_id) recs = recs.filter((r) => r.sourceVolumeId === req.source_volume_id);
        let start = 0;
        if (req.starting_token) {
            start = Number(req.starting_token);
            if (!Number.isInteger(start) || start < 0 || start > recs.length) fail(Code.ABORTED, `ListSnapshots: invalid starting_token "${req.starting_token}"`);
        }
        const end = max > 0 ? Math.min(recs.length, start + max) : recs.length;
        return { entries: recs.slice(start, end).map(toSnapshot), next_token: end < recs.length ? String(end) : '' };
    }

    /** @throws CsiError INVALID_ARGUMENT (ID missing), NOT_FOUND */
    async get(req: { snapshot_id: string }): Promise<Snapshot> {
        if (!req.snapshot_id) fail(Code.INVALID_ARGUMENT, 'GetSnapshot: snapshot ID missing in request');
        const rec = this.store.readSnapshot(req.snapshot_id);
        if (!rec) return fail(Code.NOT_FOUND, `snapshot ${req.snapshot_id} not found`);
        return toSnapshot(rec);
    }
}
