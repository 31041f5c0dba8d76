// Signatures embedded in (or detached from) a WebAssembly module or component, in the format of
// the WebAssembly tool-conventions signatures proposal as wasmsign2 writes it:
//   custom section "signature" first, holding
//     spec_version 0x01, content_type 0x01, hash_fn 0x01 (SHA-256), signed_hashes_count,
//     signed_hashes* (each length-prefixed: hashes_count, hashes, signature_count,
//       signature* (each length-prefixed: key_id, alg 0x01 Ed25519, signature))
//   optional "signature_delimiter" custom sections (16 random bytes) splitting the module into
//   parts; hash h_i covers everything from the first section after the signature section up to
//   and including delimiter i (a rolling hash); the signed message is
//   "wasmsig" || 0x01 || 0x01 || h_1 || ... || h_n.
// A verifier recomputes the hashes and requires them to equal a signed set exactly, so changed,
// reordered or appended (undelimited) sections fail.
import { createHash, randomBytes } from 'node:crypto';
import { PackageError } from '../package-errors.js';
import type { PublicKey, SecretKey } from './minisign.js';
import { sodium } from './sodium.js';
import { customSection, encodeUleb, splitSections, type RawSection } from './wasm-sections.js';

const SIGNATURE_SECTION = 'signature';
const DELIMITER_SECTION = 'signature_delimiter';
const SPEC_VERSION = 0x01;
const CONTENT_TYPE_WASM = 0x01;
const HASH_SHA256 = 0x01;
const ALG_ED25519 = 0x01;
const DOMAIN = Buffer.from('wasmsig');
const MAX_HASHES = 64;
const MAX_SIGNATURES = 256;

export interface SignatureForHashes { keyId: Buffer; algorithm: number; signature: Buffer }
export interface SignedHashes { hashes: Buffer[]; signatures: SignatureForHashes[] }
export interface SignatureData { specVersion: number; contentType: number; hashFunction: number; signedHashes: SignedHashes[] }

function fail(message: string): never {
  throw new PackageError('BH_ERR_WASM_SIGNATURE', message);
}

class Cursor {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get done(): boolean { return this.pos >= this.bytes.length; }
  byte(): number {
    if (this.pos >= this.bytes.length) fail('signature data is truncated');
    return this.bytes[this.pos++]!;
  }
  uleb(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    fail('signature data has a malformed integer');
  }
  take(n: number): Buffer {
    if (this.pos + n > this.bytes.length) fail('signature data is truncated');
    const out = Buffer.from(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  slice(): Cursor { return new Cursor(this.take(this.uleb())); }
}

export function parseSignatureData(bytes: Uint8Array): SignatureData {
  const c = new Cursor(bytes);
  const specVersion = c.uleb();
  if (specVersion !== SPEC_VERSION) fail(`unsupported signature format version ${specVersion}`);
  const contentType = c.uleb();
  if (contentType !== CONTENT_TYPE_WASM) fail(`unsupported signature content type ${contentType}`);
  const hashFunction = c.uleb();
  if (hashFunction !== HASH_SHA256) fail(`unsupported hash function ${hashFunction}`);
  const count = c.uleb();
  if (count > MAX_HASHES) fail(`too many signed hash sets (${count})`);
  const signedHashes: SignedHashes[] = [];
  for (let i = 0; i < count; i++) {
    const s = c.slice();
    const hashCount = s.uleb();
    if (hashCount > MAX_HASHES) fail(`too many hashes (${hashCount})`);
    const hashes = Array.from({ length: hashCount }, () => s.take(32));
    const sigCount = s.uleb();
    if (sigCount > MAX_SIGNATURES) fail(`too many signatures (${sigCount})`);
    const signatures: SignatureForHashes[] = [];
    for (let j = 0; j < sigCount; j++) {
      const r = s.slice();
      const keyId = r.take(r.uleb());
      const algorithm = r.byte();
      const signature = r.take(r.uleb());
      if (algorithm === ALG_ED25519) signatures.push({ keyId, algorithm, signature });
    }
    signedHashes.push({ hashes, signatures });
  }
  if (!c.done) fail('signature data has trailing bytes');
  return { specVersion, contentType, hashFunction, signedHashes };
}

const withLength = (bytes: number[]) => [...encodeUleb(bytes.length), ...bytes];

export function serializeSignatureData(data: SignatureData): Uint8Array {
  const out = [...encodeUleb(data.specVersion), ...encodeUleb(data.contentType), ...encodeUleb(data.hashFunction), ...encodeUleb(data.signedHashes.length)];
  for (const set of data.signedHashes) {
    const body = [...encodeUleb(set.hashes.length), ...set.hashes.flatMap((h) => [...h]), ...encodeUleb(set.signatures.length)];
    for (const s of set.signatures) body.push(...withLength([...encodeUleb(s.keyId.length), ...s.keyId, s.algorithm, ...encodeUleb(s.signature.length), ...s.signature]));
    out.push(...withLength(body));
  }
  return Uint8Array.from(out);
}

/** The rolling hashes of everything after the signature section: one per delimiter, plus the end. */
export function partHashes(sections: RawSection[]): Buffer[] {
  const hash = createHash('sha256');
  const out: Buffer[] = [];
  let pending = false;
  for (const s of sections) {
    hash.update(s.bytes);
    pending = true;
    if (s.id === 0 && s.name === DELIMITER_SECTION) {
      out.push(hash.copy().digest());
      pending = false;
    }
  }
  if (pending || out.length === 0) out.push(hash.digest());
  return out;
}

function signedMessage(hashes: Buffer[], withContentType: boolean): Buffer {
  const head = withContentType ? [SPEC_VERSION, CONTENT_TYPE_WASM, HASH_SHA256] : [SPEC_VERSION, HASH_SHA256];
  return Buffer.concat([DOMAIN, Buffer.from(head), ...hashes]);
}

function existingSignature(sections: RawSection[]): { data: SignatureData | undefined; rest: RawSection[] } {
  const first = sections[0];
  if (first?.id === 0 && first.name === SIGNATURE_SECTION) return { data: parseSignatureData(first.payload!), rest: sections.slice(1) };
  if (sections.slice(1).some((s) => s.id === 0 && s.name === SIGNATURE_SECTION)) fail('a "signature" section must be the first section');
  return { data: undefined, rest: sections };
}

export interface WasmSignOptions {
  /** Append a delimiter, so sections added later can be signed without invalidating this signature's part. */
  delimit?: boolean;
  /** Return the signature data instead of embedding it (the module itself is returned unchanged). */
  detached?: boolean;
  /** Existing detached signature data to add this signature to. */
  detachedSignature?: Uint8Array;
}

/** Signs a module or component; an existing signature set over the same hashes gains one more signature. */
export async function signWasm(bytes: Uint8Array, key: SecretKey, options: WasmSignOptions = {}): Promise<{ module: Uint8Array; signature: Uint8Array }> {
  const { header, sections } = splitSections(bytes);
  const embedded = existingSignature(sections);
  let rest = embedded.rest;
  let data = options.detachedSignature ? parseSignatureData(options.detachedSignature) : embedded.data;
  const last = rest[rest.length - 1];
  if (options.delimit && !(last?.id === 0 && last.name === DELIMITER_SECTION)) {
    if (options.detached) fail('--delimit changes the module, so it cannot be combined with a detached signature');
    const d = customSection(DELIMITER_SECTION, randomBytes(16));
    rest = [...rest, { id: 0, name: DELIMITER_SECTION, bytes: d, payload: d.subarray(d.length - 16) }];
  }
  const hashes = partHashes(rest);
  const s = await sodium();
  const signature = Buffer.from(s.crypto_sign_detached(signedMessage(hashes, false), key.secretKey));
  const record: SignatureForHashes = { keyId: key.keyId, algorithm: ALG_ED25519, signature };
  data ??= { specVersion: SPEC_VERSION, contentType: CONTENT_TYPE_WASM, hashFunction: HASH_SHA256, signedHashes: [] };
  const same = data.signedHashes.find((set) => set.hashes.length === hashes.length && set.hashes.every((h, i) => h.equals(hashes[i]!)));
  if (same) {
    same.signatures = [...same.signatures.filter((x) => !x.keyId.equals(key.keyId)), record];
  } else {
    data.signedHashes.push({ hashes, signatures: [record] });
  }
  const signatureBytes = serializeSignatureData(data);
  if (options.detached) return { module: bytes, signature: signatureBytes };
  const module = Buffer.concat([header, customSection(SIGNATURE_SECTION, signatureBytes), ...rest.map((r) => r.bytes)]);
  return { module, signature: signatureBytes };
}

export interface WasmVerification {
  /** Keys whose signature covers the whole module exactly. */
  valid: PublicKey[];
  /** Keys with a valid signature over a prefix of the module only (partial; not accepted by default). */
  partial: PublicKey[];
}

/** Verifies against candidate keys; the module must carry a signature section unless `detached` is given. */
export async function verifyWasm(bytes: Uint8Array, keys: PublicKey[], detached?: Uint8Array): Promise<WasmVerification> {
  const { sections } = splitSections(bytes);
  const embedded = existingSignature(sections);
  const data = detached ? parseSignatureData(detached) : embedded.data;
  if (!data) fail('module carries no signature section, and no detached signature was given');
  const actual = partHashes(embedded.rest);
  const s = await sodium();
  const result: WasmVerification = { valid: [], partial: [] };
  for (const set of data.signedHashes) {
    const matchesAll = set.hashes.length === actual.length && set.hashes.every((h, i) => h.equals(actual[i]!));
    const matchesPrefix = !matchesAll && set.hashes.length < actual.length && set.hashes.every((h, i) => h.equals(actual[i]!));
    if (!matchesAll && !matchesPrefix) continue;
    for (const sig of set.signatures) {
      for (const key of keys) {
        if (sig.keyId.length > 0 && !sig.keyId.equals(key.keyId)) continue;
        const ok = [false, true].some((ct) => s.crypto_sign_verify_detached(sig.signature, signedMessage(set.hashes, ct), key.publicKey));
        if (!ok) continue;
        const bucket = matchesAll ? result.valid : result.partial;
        if (!bucket.some((k) => k.keyId.equals(key.keyId))) bucket.push(key);
      }
    }
  }
  return result;
}
