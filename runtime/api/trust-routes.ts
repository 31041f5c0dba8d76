// The trust store: list keys (readers too), and for admins add, revoke and remove them. Adding runs
// TrustStore.add, the same code as `bulkhead trust add`: a vendor name that people could not tell
// apart from one already trusted (case, width, look-alike letters) is refused with BH_ERR_TRUST_INPUT.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { PackageError } from '../../packages/package-errors.js';
import { SIGNER_ROLES, type SignerRole } from '../../packages/trust/trust-store.js';
import type { ApiContext } from './api-context.js';
import { ApiError } from './api-errors.js';
import { problemResponses } from './api-schemas.js';

export const TrustKeySchema = Type.Object({
  keyId: Type.String(), vendor: Type.String(), role: Type.String(), publicKey: Type.String(), addedAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]), revokeReason: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'TrustKey' });

// Checked by the trust store itself (as for the CLI), so both paths refuse a bad id with the same words.
const KeyParams = Type.Object({ keyId: Type.String({ minLength: 1, maxLength: 64, description: '16 hex digits, as GET /v1/trust/keys shows' }) });
type KeyParamsT = Static<typeof KeyParams>;

const AddBody = Type.Object({
  publicKey: Type.String({ minLength: 1, maxLength: 4096, description: 'a minisign public key file\'s text, or the base64 key itself' }),
  vendor: Type.String({ minLength: 1, maxLength: 200, description: 'the vendor, as margo.yaml\'s catalog.organization[0].name' }),
  role: Type.Optional(Type.String({ maxLength: 50, description: `signer role: ${SIGNER_ROLES.join(' or ')} (default vendor); checked by the trust store` })),
}, { additionalProperties: false });

const RevokeBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000, description: 'shown when a package signed by the key is refused' })) }, { additionalProperties: false });

export function trustRoutes(ctx: ApiContext): FastifyPluginAsync {
  /** The store's own refusal; an unknown key id is a 404 that keeps the store's code and words. */
  const storeCall = <T>(keyId: string, fn: () => T): T => {
    if (!ctx.trust.get(keyId)) throw new ApiError(404, 'BH_ERR_TRUST_INPUT', `no trusted key with id ${keyId}`, 'params.keyId');
    try {
      return fn();
    } catch (err) {
      if (err instanceof PackageError) throw new ApiError(409, err.code, err.message, 'params.keyId');
      throw err;
    }
  };

  return async (app) => {
    app.addSchema(TrustKeySchema);

    app.get('/v1/trust/keys', {
      schema: { summary: 'keys in the trust store (revoked ones included, marked)', tags: ['trust'], response: { 200: Type.Object({ keys: Type.Array(Type.Ref('TrustKey')) }) } },
    }, async () => ({ keys: ctx.trust.list() }));

    app.post<{ Body: Static<typeof AddBody> }>('/v1/trust/keys', {
      schema: {
        summary: 'trust a minisign public key for a vendor, as `bulkhead trust add` (look-alike vendor names refused)', tags: ['trust'], body: AddBody,
        response: { 201: Type.Ref('TrustKey'), ...problemResponses(400, 403, 422) },
      },
    }, async (request, reply) => {
      const { publicKey, vendor, role } = request.body;
      const key = ctx.trust.add(publicKey, vendor, (role ?? 'vendor') as SignerRole);
      reply.code(201);
      return key;
    });

    app.post<{ Params: KeyParamsT; Body: Static<typeof RevokeBody> }>('/v1/trust/keys/:keyId/revoke', {
      schema: {
        summary: 'revoke a key: everything it signed is refused, with the reason', tags: ['trust'], params: KeyParams, body: RevokeBody,
        response: { 200: Type.Ref('TrustKey'), ...problemResponses(400, 403, 404, 409) },
      },
    }, async (request) => {
      return storeCall(request.params.keyId, () => ctx.trust.revoke(request.params.keyId, request.body?.reason ?? ''));
    });

    app.delete<{ Params: KeyParamsT }>('/v1/trust/keys/:keyId', {
      schema: {
        summary: 'forget a key (packages it signed become "unknown key")', tags: ['trust'], params: KeyParams,
        response: { 200: Type.Object({ ok: Type.Literal(true), keyId: Type.String() }), ...problemResponses(403, 404, 409) },
      },
    }, async (request) => {
      storeCall(request.params.keyId, () => ctx.trust.remove(request.params.keyId));
      return { ok: true as const, keyId: request.params.keyId.toUpperCase() };
    });
  };
}
