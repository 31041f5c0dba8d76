/** Commander accumulator for repeatable options (`--dir a --dir b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
