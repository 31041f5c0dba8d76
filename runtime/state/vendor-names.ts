// Every on-disk and engine name derived from a vendor's identity, in one place. Each is a readable
// slug plus a short hash of the exact name, so two vendors whose names slug alike ("Möller
// Automation", "Müller Automation") still get distinct data roots, networks and deployments. The
// names are for people and the filesystem/engine; ownership is always decided by comparing the
// exact VendorId (e.g. the org.bulkhead.vendor label), never by one of these names.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { VendorId } from '../../packages/trust/vendor-id.js';
import type { DevicePolicy } from './device-policy.js';

const SLUG_MAX = 40;

/** Lower-case ASCII letters and digits, runs of anything else as one '-': readable, not unique. */
function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, SLUG_MAX).replace(/-+$/, '');
}

function shortHash(text: string, hexDigits: number): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, hexDigits);
}

/** `<slug>-<16 hex of sha256(exact name)>`, e.g. "m-ller-automation-3f2a9c1b07d4e611". 64 bits:
 * finding another name with the same slug and hash is out of reach (32 bits could be searched offline). */
export function vendorDirName(vendor: VendorId): string {
  return `${slug(vendor) || 'vendor'}-${shortHash(vendor, 16)}`;
}

/** The vendor's data root: the operator's `dataRoot` for it, else `<data-dir>/vendors/<vendorDirName>`. */
export function vendorDataRoot(vendor: VendorId, device: DevicePolicy, dataDir: string): string {
  return device.vendors[vendor]?.dataRoot ?? path.join(dataDir, 'vendors', vendorDirName(vendor));
}

/** The vendor's one isolated engine network. */
export function vendorNetworkName(vendor: VendorId): string {
  return `bh-${vendorDirName(vendor)}`;
}

/**
 * A Compose deployment's engine name (container/volume prefix and label value). The hash covers
 * the exact (vendor, project) pair, so "Heldout" + "a-x" and "Heldout A" + "x" differ although
 * their slugs join alike.
 */
export function deploymentName(vendor: VendorId, project: string): string {
  const readable = slug(`${vendor}-${project}`) || 'deployment';
  return `${readable}-${shortHash(JSON.stringify([vendor, project]), 16)}`;
}

/**
 * The engine name the bridge gives an image a vendor loaded (`localhost/bh-<vendor dir>/<slug of
 * the name the archive claimed>:<16 hex of it>`): readable, and never a name an archive can
 * claim for itself, since the bridge loads archives without their names. It keeps the image from
 * being pruned; which image a vendor may run is decided by the bridge's per-vendor record.
 */
export function vendorImageName(vendor: VendorId, claimed: string): string {
  return `localhost/bh-${vendorDirName(vendor)}/${slug(claimed.replace(/[:@][^/]*$/, '')) || 'image'}:${shortHash(claimed, 16)}`;
}

/** The name data roots had before identities were hashed; only the migration uses it. */
export function legacyVendorDirName(vendor: VendorId): string {
  return vendor.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'vendor';
}
