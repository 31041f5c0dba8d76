import type { Violation } from './container-policy.js';

/** The message of a policy refusal: a header and one `- [rule] message` line per violation. */
export function policyRefusalText(violations: readonly Violation[]): string {
  return `refused by the isolation policy:\n${violations.map((v) => `  - [${v.rule}] ${v.message}`).join('\n')}`;
}
