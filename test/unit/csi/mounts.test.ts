// /proc/self/mountinfo as the built-in node plugin reads it: optional fields, escaped paths,
// stacked mounts (the last one is on top) and lines it must skip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mountAt, parseMountinfo } from '../../../src/csi/builtin/mounts.ts';

const TABLE = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
    '90 22 8:1 /srv/vcm/volumes/abc /var/lib/kubelet/plugins/kubernetes.io/csi/d/h/globalmount rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '91 22 8:1 /srv/vcm/volumes/abc /var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pv\\040one/mount ro,nosuid,relatime shared:1 master:7 - ext4 /dev/sda1 rw',
    '92 90 8:1 /srv/other /var/lib/kubelet/plugins/kubernetes.io/csi/d/h/globalmount rw - ext4 /dev/sda1 rw',
    'garbage line',
    '',
].join('\n');

describe('mountinfo', () => {
    it('parses every field, with optional fields and octal escapes', () => {
        const t = parseMountinfo(TABLE);
        assert.equal(t.length, 4, 'malformed and empty lines skipped');
        const pod = t[2];
        assert.deepEqual(
            { id: pod?.mountId, parent: pod?.parentId, device: pod?.device, root: pod?.root, at: pod?.mountPoint, options: pod?.options, fs: pod?.fsType, source: pod?.source },
            {
                id: 91,
                parent: 22,
                device: '8:1',
                root: '/srv/vcm/volumes/abc',
                at: '/var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pv one/mount',
                options: ['ro', 'nosuid', 'relatime'],
                fs: 'ext4',
                source: '/dev/sda1',
            },
        );
    });

    it('mountAt gives the topmost mount at a path, and nothing for a path that is no mount point', () => {
        const t = parseMountinfo(TABLE);
        assert.equal(mountAt('/var/lib/kubelet/plugins/kubernetes.io/csi/d/h/globalmount', t)?.mountId, 92);
        assert.equal(mountAt('/var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pv one/mount', t)?.options.includes('ro'), true);
        assert.equal(mountAt('/var/lib/kubelet/pods', t), undefined);
    });
});
