// helm test: a replica holds the Lease (and renewed it within the lease duration), and /readyz
// answers 200 through the Service. Configured by env: LEASE_NAMESPACE + LEASE_NAME, READYZ_URL,
// and SA_DIR (service account token and CA; the in-cluster mount by default). Exit 1 on failure.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const env = process.env;
const fail = (msg) => {
    console.error(`FAIL: ${msg}`);
    process.exit(1);
};
const get = (mod, url, opts) =>
    new Promise((resolve, reject) => {
        const req = mod.get(url, opts, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
        req.setTimeout(10000, () => req.destroy(new Error(`no answer from ${url} within 10s`)));
    });
async function checkLease() {
    const sa = env.SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
    const host = env.KUBERNETES_SERVICE_HOST || '';
    const api = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT}`;
    const what = `Lease ${env.LEASE_NAMESPACE}/${env.LEASE_NAME}`;
    const r = await get(https, `${api}/apis/coordination.k8s.io/v1/namespaces/${env.LEASE_NAMESPACE}/leases/${env.LEASE_NAME}`, {
        ca: fs.readFileSync(`${sa}/ca.crt`),
        headers: { authorization: `Bearer ${fs.readFileSync(`${sa}/token`, 'utf8').trim()}`, accept: 'application/json' },
    });
    if (r.status === 404) fail(`${what} does not exist: no replica has ever led (are the pods running? kubectl logs them)`);
    if (r.status !== 200) fail(`GET ${what}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    const spec = JSON.parse(r.body).spec || {};
    if (!spec.holderIdentity) fail(`${what} has no holder: no replica leads`);
    const renewed = Date.parse(spec.renewTime || spec.acquireTime || '');
    const ageSeconds = (Date.now() - renewed) / 1000;
    const limit = spec.leaseDurationSeconds || 15;
    if (!(ageSeconds <= limit)) fail(`${what} is held by ${spec.holderIdentity} but was last renewed ${Math.round(ageSeconds)}s ago (lease duration ${limit}s): the leader is not renewing`);
    console.log(`ok: ${spec.holderIdentity} leads (${what} renewed ${ageSeconds.toFixed(1)}s ago)`);
}
async function checkReady() {
    const r = await get(http, `${env.READYZ_URL}?verbose`, {});
    if (r.status !== 200) fail(`${env.READYZ_URL}: HTTP ${r.status}\n${r.body}`);
    console.log(`ok: ${env.READYZ_URL} answers 200`);
}
(async () => {
    if (env.LEASE_NAME) await checkLease();
    if (env.READYZ_URL) await checkReady();
})().catch((e) => fail(e.message));
