// JSON read without losing integers: Margo's manifestVersion is an unsigned 64-bit integer and
// spiffe_sequence may be as large, beyond what a JS number holds exactly (2^53). lossless-json keeps
// every number's literal text, and it refuses an object that repeats a key with another value,
// which would otherwise let two readers of one document see different versions.
import { isLosslessNumber, parse, type LosslessNumber } from 'lossless-json';

export function parseExactJson(text: string): unknown {
  return parse(text);
}

/** The literal of a JSON integer (no sign, fraction or exponent), or undefined if `v` is not one. */
export function unsignedIntegerText(v: unknown): string | undefined {
  if (!isLosslessNumber(v)) return undefined;
  const text = (v as LosslessNumber).value;
  return /^(0|[1-9][0-9]*)$/.test(text) ? text : undefined;
}

/** A JSON number as a JS number (fine where 2^53 is no concern: sizes, seconds). */
export function numberValue(v: unknown): number | undefined {
  return isLosslessNumber(v) ? Number((v as LosslessNumber).value) : undefined;
}
