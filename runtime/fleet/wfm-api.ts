// The Workload Management API 1.0.0-rc.3 endpoints a device calls, over the mTLS transport. The
// caller is identified by its SVID, so paths carry no client id. Every body is read under a cap
// and a deadline; every error answer becomes a FleetError that says whether to retry.
import { verifyDigest } from './content-digest.js';
import { FleetError } from './fleet-errors.js';
import { problemError } from './problem-details.js';
import { bundlePath, checkManifestEtag, deploymentPath, MANIFEST_MEDIA_TYPE, type BundleRef, type DeploymentRef } from './state-manifest.js';
import { sha256Digest } from './content-digest.js';
import type { ReadLimits, WfmTransport } from './wfm-transport.js';

export interface WfmApiLimits {
  manifest: ReadLimits;
  deployment: ReadLimits;
  bundle: ReadLimits;
  report: ReadLimits;
}

export const DEFAULT_WFM_LIMITS: WfmApiLimits = {
  manifest: { maxBytes: 4 * 1024 * 1024, timeoutMs: 30_000 },
  deployment: { maxBytes: 1024 * 1024, timeoutMs: 30_000 },
  bundle: { maxBytes: 64 * 1024 * 1024, timeoutMs: 120_000 },
  report: { maxBytes: 64 * 1024, timeoutMs: 30_000 },
};

export type ManifestAnswer =
  | { notModified: true }
  | { notModified: false; body: Buffer; etag: string };

export class WfmApi {
  constructor(private readonly transport: WfmTransport, private readonly limits: WfmApiLimits = DEFAULT_WFM_LIMITS) {}

  async getManifest(etag: string | undefined, signal?: AbortSignal): Promise<ManifestAnswer> {
    const headers: Record<string, string> = { accept: MANIFEST_MEDIA_TYPE };
    if (etag) headers['if-none-match'] = etag;
    const res = await this.transport.call('GET', '/api/v1/deployments', headers, undefined, this.limits.manifest, signal);
    if (res.status === 304) return { notModified: true };
    if (res.status !== 200) throw problemError('GET /api/v1/deployments', res);
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== MANIFEST_MEDIA_TYPE && type !== 'application/json') {
      throw new FleetError('BH_ERR_FLEET_MANIFEST', `GET /api/v1/deployments: content type ${JSON.stringify(type)} is not ${MANIFEST_MEDIA_TYPE}`);
    }
    const encoding = res.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') throw new FleetError('BH_ERR_FLEET_MANIFEST', `GET /api/v1/deployments: content encoding ${JSON.stringify(encoding)} was not asked for`);
    return { notModified: false, body: res.body, etag: checkManifestEtag(res.headers.etag, sha256Digest(res.body)) };
  }

  async getDeployment(ref: DeploymentRef, signal?: AbortSignal): Promise<Buffer> {
    const path = deploymentPath(encodeURIComponent(ref.deploymentId), ref.digest);
    const res = await this.transport.call('GET', path, { accept: 'application/yaml' }, undefined, this.limits.deployment, signal);
    if (res.status !== 200) throw problemError(`GET ${path}`, res);
    this.identityEncoded(res.headers['content-encoding'], path);
    verifyDigest(res.body, ref.digest, `deployment ${ref.deploymentId}`);
    return res.body;
  }

  async getBundle(ref: BundleRef, signal?: AbortSignal): Promise<Buffer> {
    const path = bundlePath(ref.digest);
    const res = await this.transport.call('GET', path, { accept: 'application/vnd.margo.bundle.v1+tar+gzip' }, undefined, this.limits.bundle, signal);
    if (res.status !== 200) throw problemError(`GET ${path}`, res);
    this.identityEncoded(res.headers['content-encoding'], path);
    verifyDigest(res.body, ref.digest, 'deployment bundle');
    return res.body;
  }

  async postStatus(deploymentId: string, body: string, signal?: AbortSignal): Promise<void> {
    const path = `/api/v1/deployments/${encodeURIComponent(deploymentId)}/status`;
    const res = await this.transport.call('POST', path, { 'content-type': 'application/json' }, body, this.limits.report, signal);
    if (res.status !== 200 && res.status !== 201) throw problemError(`POST ${path}`, res);
  }

  async putCapabilities(deviceId: string, body: string, signal?: AbortSignal): Promise<void> {
    const path = `/api/v1/capabilities/${deviceId.split('/').map(encodeURIComponent).join('/')}`;
    const res = await this.transport.call('PUT', path, { 'content-type': 'application/json' }, body, this.limits.report, signal);
    if (res.status !== 200 && res.status !== 201) throw problemError(`PUT ${path}`, res);
  }

  async deleteCapabilities(deviceId: string, signal?: AbortSignal): Promise<void> {
    const path = `/api/v1/capabilities/${deviceId.split('/').map(encodeURIComponent).join('/')}`;
    const res = await this.transport.call('DELETE', path, {}, undefined, this.limits.report, signal);
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw problemError(`DELETE ${path}`, res);
  }

  /** We never send Accept-Encoding, so a compressed body is a broken server: the digest is over decoded bytes. */
  private identityEncoded(encoding: string | string[] | undefined, path: string): void {
    if (encoding !== undefined && encoding !== 'identity') throw new FleetError('BH_ERR_FLEET_MANIFEST', `GET ${path}: content encoding ${JSON.stringify(encoding)} was not asked for`);
  }
}
