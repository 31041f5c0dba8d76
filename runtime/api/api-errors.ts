// Stable error codes of the management API, answered as RFC 9457 problem details
// (application/problem+json) with `code` set to the code and `type` to a URI per code. Every code is
// documented in runtime/README.md (a test checks both directions). Package codes (BH_ERR_SIG_*,
// BH_ERR_ARCHIVE_*...) pass through unchanged from the installer.
import { PackageError, type PackageErrorCodeName } from '../../packages/package-errors.js';

export const ApiErrorCode = {
  BH_ERR_API_BAD_REQUEST: 'the request is malformed or fails the route schema (bad JSON, wrong type, unknown field)',
  BH_ERR_API_TOO_LARGE: 'the request body is over the route limit or the upload quota',
  BH_ERR_API_UNSUPPORTED_MEDIA: 'the request body has a content type the route does not take',
  BH_ERR_API_NOT_FOUND: 'no such route, app or package',
  BH_ERR_API_FORBIDDEN: 'the client certificate maps to no role, or its role may not do this (a reader writing)',
  BH_ERR_API_RATE_LIMITED: 'the client sent more requests than its rate limit allows; retry after the given time',
  BH_ERR_API_BUSY: 'a capacity limit is reached (concurrent log followers); retry later',
  BH_ERR_API_CONFLICT: 'the request conflicts with the device state (uninstalling an app that is running or started); change the state first',
  BH_ERR_API_INCOMPLETE: 'the upload ended before its declared length; nothing was installed',
  BH_ERR_API_NOT_READY: 'the daemon cannot serve: its policy file is invalid or its database unreadable',
  BH_ERR_API_INTERNAL: 'the daemon failed unexpectedly; its log says why',
} as const;

export type ApiErrorCodeName = keyof typeof ApiErrorCode;

/** An error the API answers as a problem document. `field` is the JSON path of an offending field. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: ApiErrorCodeName | PackageErrorCodeName | string, message: string, readonly field?: string,
    readonly extensions?: ProblemExtensions) {
    super(message);
  }
}

/** Where each code is described, for the problem's `type`. */
export const problemType = (code: string) => `https://bulkhead.dev/errors/${code}`;

/** RFC 9457 extension members some problems carry (the policy violations and located problems of a refused Compose file). */
export interface ProblemExtensions {
  violations?: { service: string; rule: string; message: string }[];
  problems?: { code: string; file?: string; line?: number; path: string; service?: string; rule?: string; message: string }[];
}

export interface Problem extends ProblemExtensions { type: string; title: string; status: number; detail: string; code: string; instance?: string; field?: string }

const TITLES: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, instance?: string, field?: string, extensions?: ProblemExtensions): Problem {
  return { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, code, ...(instance ? { instance } : {}), ...(field ? { field } : {}), ...extensions };
}

/** HTTP status for a package-area failure: the rest are verification refusals (422). */
export function statusOfPackageError(err: PackageError): number {
  if (err.code === 'BH_ERR_ROLLBACK' || err.code === 'BH_ERR_APP_OWNED') return 409;
  if (err.code === 'BH_ERR_PKG_TOO_LARGE') return 413;
  return 422;
}
