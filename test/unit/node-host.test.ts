// Pure helpers of the node tier's host plumbing (scripts/lib/node-host.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMountInfo, routesOverlap, slotNetwork } from '../../scripts/lib/node-host.ts';

describe('routesOverlap (a slot subnet 10.<octet>.0.0/16 against the machine routes)', () => {
    const table: [string, string[], boolean][] = [
        ['no routes', [], false],
        ['default route and an unrelated LAN', ['default via 192.0.2.1 dev eth0', '192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2'], false],
        ['a /24 inside the slot', ['10.200.7.0/24 dev br0 proto kernel'], true],
        ['a wider route covering the slot', ['10.0.0.0/8 via 192.0.2.9 dev eth0'], true],
        ['a host route inside the slot', ['10.200.3.4 via 192.0.2.1 dev eth0'], true],
        ['a local-table entry inside the slot', ['local 10.200.0.9 dev eth1 table local proto kernel scope host src 10.200.0.9'], true],
        ['the neighbour slot', ['10.201.0.0/16 dev vcmbr1 proto kernel scope link src 10.201.0.1'], false],
        ['the slot bridge itself (a leftover)', ['10.200.0.0/16 dev vcmbr0 proto kernel scope link src 10.200.0.1', 'broadcast 10.200.255.255 dev vcmbr0 table local'], false],
        ['a bridge whose name only starts like ours', ['10.200.0.0/16 dev vcmbr01 proto kernel'], true],
    ];
    for (const [name, routes, want] of table) it(name, () => assert.equal(routesOverlap(routes, 200, 'vcmbr0'), want));
});

describe('slotNetwork', () => {
    it('gives slot n bridge vcmbr<n> and 10.(200+n).0.0/16 with the gateway at .0.1', () => {
        assert.deepEqual(slotNetwork(3), { bridge: 'vcmbr3', subnet: '10.203.0.0/16', gateway: '10.203.0.1', octet: 203 });
    });
});

describe('parseMountInfo', () => {
    it('reads mount point, type and super options, undoing octal escapes', () => {
        const text = [
            '36 25 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids',
            '40 25 0:35 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
            '99 30 0:50 / /tmp/a\\040dir/kubelet rw,relatime shared:1 - tmpfs tmpfs rw',
            '',
        ].join('\n');
        assert.deepEqual(parseMountInfo(text), [
            { mountPoint: '/sys/fs/cgroup/pids', fsType: 'cgroup', superOptions: 'rw,pids' },
            { mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', superOptions: 'rw' },
            { mountPoint: '/tmp/a dir/kubelet', fsType: 'tmpfs', superOptions: 'rw' },
        ]);
    });
});
