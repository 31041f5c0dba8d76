// How every error message quotes a value it was given (a flag, a manifest field, an archive entry
// name, a reference): in double quotes, control characters escaped so the message stays one line,
// and cut to a readable length, because the value may be megabytes long (a 10 MB metadata.id was
// once echoed in full to stderr). packages/ and runtime/ import it; nothing here imports anything.

/** Characters of a value shown before it is cut. Enough to recognise it, short enough for one line. */
export const QUOTED_VALUE_MAX = 80;

/**
 * `"value"` with JSON escapes, or `"first 80 characters…" (N characters)` when longer. Non-strings
 * are quoted as their JSON text.
 */
export function quoteValue(value: unknown, max = QUOTED_VALUE_MAX): string {
  const text = typeof value === 'string' ? value : jsonText(value);
  if (text.length <= max) return JSON.stringify(text);
  let cut = text.slice(0, max);
  // Never split a UTF-16 surrogate pair: the half would print as a replacement character.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${JSON.stringify(`${cut}…`)} (${text.length} characters)`;
}

function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The last line of defence for whole messages (which may embed values nobody quoted): at most
 * `max` characters, so no input can flood a terminal or a log. Errors are printed through it.
 * Line breaks a message means (a list of policy violations) are kept; `oneLine` joins them.
 */
export function boundedMessage(message: string, max = 4000): string {
  return message.length <= max ? message : `${message.slice(0, max)}… (message cut at ${max} of ${message.length} characters)`;
}

/** A message as one line (for errors whose source splits them, like commander's suggestions). */
export function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, ' ');
}
