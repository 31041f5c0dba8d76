// Registry references: [oci://]HOST[:PORT]/REPO[/...][:TAG|@sha256:DIGEST]
import { quoteValue } from '../quote-value.js';
export interface OciReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {}

export function parseReference(text: string): OciReference {
  const ref = text.replace(/^oci:\/\//, '');
  const slash = ref.indexOf('/');
  if (slash <= 0) throw new ReferenceError(`${quoteValue(text)}: expected REGISTRY/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/acme/hello`);
  const registry = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new ReferenceError(`${quoteValue(text)}: digest must be sha256:<64 hex digits>`);
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new ReferenceError(`${quoteValue(text)}: ${quoteValue(tag)} is not a valid tag`);
  }
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(rest)) {
    throw new ReferenceError(`${quoteValue(text)}: ${quoteValue(rest)} is not a valid repository name (lower case, digits, . _ - and /)`);
  }
  return { registry, repository: rest, tag, digest };
}

export function formatReference(r: OciReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Loopback registries speak plain HTTP by default, as Docker allows; anything else needs TLS. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0]!;
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
