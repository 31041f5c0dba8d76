// Packages: list, show, upload-and-install (see package-upload.ts for the streaming and quota), and
// uninstall (uninstallApp, as `bulkhead uninstall`: refused while the app runs or is started).
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { installReport } from '../../packages/install/install-report.js';
import type { InstalledPackage } from '../../packages/install/installed-packages.js';
import { uninstallApp, UninstallError } from '../apps/uninstall-app.js';
import type { ApiContext } from './api-context.js';
import { assertActsFor } from './api-access.js';
import { ApiError } from './api-errors.js';
import { AppIdParams, problemResponses, type AppIdParamsT } from './api-schemas.js';
import { signaturesFromHeader, spoolUpload } from './package-upload.js';

const UploadQuery = Type.Object({
  allowDowngrade: Type.Optional(Type.Boolean({ description: 'install even if the version is not newer than the installed one' })),
  transferFrom: Type.Optional(Type.String({
    minLength: 1, maxLength: 200,
    description: 'hand the app id over from this vendor (its current owner, exactly as recorded) to the package\'s vendor, as `bulkhead install --transfer-from`',
  })),
}, { additionalProperties: false });

const InstallResultSchema = Type.Object({
  appId: Type.String(), version: Type.String(), vendor: Type.String(), digest: Type.String(),
  path: Type.String({ description: 'where the package is unpacked on the device' }), installedAt: Type.String(),
  previousVersion: Type.Union([Type.String(), Type.Null()]),
  transferredFrom: Type.Union([Type.String(), Type.Null()], { description: 'the vendor the app id was handed over from' }),
  signers: Type.Array(Type.Object({ keyId: Type.String(), vendor: Type.String(), role: Type.String() })),
  ignoredSignatures: Type.Array(Type.Object({ signatureFile: Type.String({ description: 'signature #N: the Nth Bulkhead-Signature value' }), code: Type.String(), reason: Type.String() })),
}, { $id: 'InstallResult' });

const UninstallResultSchema = Type.Object({
  ok: Type.Literal(true), id: Type.String(), version: Type.String(), vendor: Type.String(), digest: Type.String(),
  storeRemoved: Type.Boolean({ description: 'false when the files were outside the package store and left in place' }),
});

const publicView = (p: InstalledPackage) => ({ appId: p.appId, version: p.version, vendor: p.vendor, digest: p.digest, installedAt: p.installedAt });

// The upload body is a stream the handler consumes; only the query is validated by schema here.
const queryAjv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, strict: false });

export function packageRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    // Hand the raw request stream to the upload route instead of reading it into memory.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

    app.get('/v1/packages', {
      schema: { summary: 'installed packages', tags: ['packages'], response: { 200: Type.Object({ packages: Type.Array(Type.Ref('Package')) }) } },
    }, async () => ({ packages: ctx.installed.list().map(publicView) }));

    app.get<{ Params: AppIdParamsT }>('/v1/packages/:id', {
      schema: { summary: 'one installed package', tags: ['packages'], params: AppIdParams, response: { 200: { $ref: 'Package#' }, ...problemResponses(404) } },
    }, async (request) => {
      const p = ctx.installed.get(request.params.id);
      if (!p) throw new ApiError(404, 'BH_ERR_API_NOT_FOUND', `${request.params.id} is not installed (see GET /v1/packages)`, 'params.id');
      return publicView(p);
    });

    app.post<{ Querystring: Static<typeof UploadQuery> }>('/v1/packages', {
      config: { vendorScoped: true },
      schema: {
        summary: 'upload and install a .bhpkg: verified against the trust store and policy exactly as `bulkhead install`; atomic',
        description: 'Body: the package bytes (application/octet-stream, streamed to disk under a quota of policy archive.maxPackedBytes). '
          + 'Header Bulkhead-Signature: base64 of each .minisig file (comma-separated or repeated, at most 8).',
        tags: ['packages'], querystring: UploadQuery,
        headers: Type.Object({
          'bulkhead-signature': Type.Optional(Type.String({ description: 'base64 of a .minisig file; comma-separated for several' })),
          'bulkhead-package-name': Type.Optional(Type.String({ maxLength: 1024, pattern: '^[^\\x00-\\x1f\\x7f]*$', description: 'what messages call the package (the client\'s file name); nothing else uses it' })),
        }),
        body: Type.String({ format: 'binary', contentMediaType: 'application/octet-stream' }),
        consumes: ['application/octet-stream'],
        response: { 201: InstallResultSchema, ...problemResponses(400, 403, 409, 413, 415, 422) },
      },
      validatorCompiler: ({ schema, httpPart }) => (httpPart === 'body' ? () => true : queryAjv.compile(schema)),
    }, async (request, reply) => {
      if (request.role === 'vendor' && request.query.transferFrom !== undefined) {
        throw new ApiError(403, 'BH_ERR_API_FORBIDDEN', `${request.client} acts for ${JSON.stringify(request.vendor)}: handing an app id over from another vendor needs admin`, 'query.transferFrom');
      }
      const signatures = signaturesFromHeader(request.headers['bulkhead-signature']);
      const declared = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
      const t0 = performance.now();
      const timings: { verifySeconds?: number } = {};
      let outcome = 'refused';
      try {
        const spooled = await spoolUpload(request.body as NodeJS.ReadableStream as never, ctx.dataDir, ctx.uploads.quota(), declared);
        const r = await ctx.uploads.install(spooled, signatures, {
          allowDowngrade: request.query.allowDowngrade ?? false, transferFrom: request.query.transferFrom,
          packageName: request.headers['bulkhead-package-name'] as string | undefined,
          // A vendor client installs only what verifies as its own vendor's package.
          actsFor: request.role === 'vendor' ? (vendor: string) => assertActsFor(request, vendor, 'the package') : undefined,
        }, timings);
        outcome = 'installed';
        reply.code(201);
        return installReport(r);
      } finally {
        ctx.metrics.installSeconds.observe({ outcome }, (performance.now() - t0) / 1000);
        if (timings.verifySeconds !== undefined) ctx.metrics.verifySeconds.observe({ outcome }, timings.verifySeconds);
      }
    });

    app.delete<{ Params: AppIdParamsT }>('/v1/packages/:id', {
      config: { vendorScoped: true },
      schema: {
        summary: 'uninstall a package, as `bulkhead uninstall`: refused (409) while its app runs or is started; stop it first', tags: ['packages'],
        params: AppIdParams, response: { 200: UninstallResultSchema, ...problemResponses(403, 404, 409) },
      },
    }, async (request) => {
      const { id } = request.params;
      const owner = ctx.installed.get(id)?.vendor;
      if (owner !== undefined) assertActsFor(request, owner, id);
      try {
        const r = uninstallApp(ctx.db, ctx.dataDir, ctx.installed, id);
        const p = r.removed;
        return { ok: true as const, id: p.appId, version: p.version, vendor: p.vendor, digest: p.digest, storeRemoved: r.storeRemoved };
      } catch (err) {
        if (err instanceof UninstallError && err.reason === 'not-installed') throw new ApiError(404, 'BH_ERR_API_NOT_FOUND', err.message, 'params.id');
        if (err instanceof UninstallError) throw new ApiError(409, 'BH_ERR_API_CONFLICT', err.message, 'params.id');
        throw err;
      }
    });
  };
}
