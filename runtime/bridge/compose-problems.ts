// What is wrong with a Compose file, in one shape for every stage (YAML, interpolation, types, the
// schema, keys the bridge does not implement, cross references, the isolation policy): a stable
// code, the file and line when known, the key path in the document, the service it concerns, and
// one line of words saying what to do. `compose check` lists them all; the other verbs refuse with
// them. No stage throws anything else at the caller (test/unit/compose-fuzz.test.ts holds it to that).

export type ComposeProblemCode = 'BH_ERR_COMPOSE_INVALID' | 'BH_ERR_COMPOSE_UNSUPPORTED' | 'BH_ERR_POLICY';

export type KeyPath = readonly (string | number)[];

export interface ComposeProblem {
  code: ComposeProblemCode;
  /** The file as the user named it (or as an include / extends named it). */
  file?: string;
  line?: number;
  /** `services.web.volumes[0]`, or `(document)`. */
  path: string;
  service?: string;
  /** The isolation rule, for BH_ERR_POLICY. */
  rule?: string;
  message: string;
}

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out || '(document)';
}

/** The service a key path is inside, if any. */
export function serviceOf(path: KeyPath): string | undefined {
  return path[0] === 'services' && typeof path[1] === 'string' ? path[1] : undefined;
}

export function problem(code: ComposeProblemCode, path: KeyPath, message: string, extra: Partial<ComposeProblem> = {}): ComposeProblem {
  return { code, path: formatKeyPath(path), service: serviceOf(path), message, ...extra };
}

/** `compose.yaml:12: services.web.volumes[0]: a bind mount needs a source [BH_ERR_COMPOSE_INVALID]` */
export function problemLine(p: ComposeProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  const tag = p.rule ? `${p.code} ${p.rule}` : p.code;
  return `${where}${p.path}: ${p.message} [${tag}]`;
}

/** Bad input (exit 125) unless every problem is a policy refusal (exit 1). */
export function isBadInput(problems: readonly ComposeProblem[]): boolean {
  return problems.some((p) => p.code !== 'BH_ERR_POLICY');
}

/** The text of a refusal for these problems: a header and one located line per problem. */
export function problemsRefusalText(problems: readonly ComposeProblem[]): string {
  const header = isBadInput(problems) ? 'the Compose files have problems' : 'refused by the isolation policy';
  return `${header}:\n${problems.map((p) => `  - ${problemLine(p)}`).join('\n')}`;
}

/** The code a refusal for these problems carries: the first structural one's, else BH_ERR_POLICY. */
export function problemsRefusalCode(problems: readonly ComposeProblem[]): ComposeProblemCode {
  return problems.find((p) => p.code !== 'BH_ERR_POLICY')?.code ?? 'BH_ERR_POLICY';
}

export class ComposeError extends Error {
  /** `path: message` of each problem, without the file (kept for callers that match on them). */
  readonly problems: string[];
  constructor(readonly source: string, readonly issues: ComposeProblem[]) {
    super(`${source}:\n${issues.map((p) => `  - ${problemLine(p)}`).join('\n')}`);
    this.problems = issues.map((p) => `${p.path}: ${p.message}`);
  }
}
