// jco 0.15's bindings route every host import through the component-model async machinery: each
// call spreads its arguments, builds an AsyncTask (some forty private fields, a BigInt id, entries
// in module-level maps), a subtask with a waitable in the handle table, and a second host task,
// then tears them down. For a synchronous import of a synchronous component none of that has an
// effect (no task ever waits), but it cost 6-15 us a call, and since every instance defines its
// own copies of those classes, call sites shared between instances went megamorphic as instances
// accumulated in a sandbox.
//
// This rewrite makes each sync-lowered, sync host import a direct call of its trampoline: arguments
// lifted from guest memory, the host function called, results lowered, as jco generated them. It
// only touches a trampoline whose task code has exactly the shape below and whose lowering says
// sync everywhere; anything else (an async import, a shape a newer jco emits) is left as generated.
// The component-model "may leave" check the lowering did first is kept.

const TASK_SETUP = /const hostProvided = true;\s*let parentTask;\s*let task;\s*let subtask;\s*const createTask = \(\) => \{\s*const results = createNewCurrentTask\(\{\s*componentIdx: -1,\s*isAsync: false,[^{}]*\}\);\s*task = results\[0\];\s*\};\s*taskCreation: \{\s*parentTask = getCurrentTask\(\s*\d+,\s*_getGlobalCurrentTaskMeta\(\d+\)\?\.taskID,\s*\)\?\.task;\s*if \(!parentTask\) \{\s*createTask\(\);\s*break taskCreation;\s*\}\s*createTask\(\);\s*if \(hostProvided\) \{\s*subtask = parentTask\.getLatestSubtask\(\);\s*if \(!subtask\) \{\s*throw new Error\(`[^`]*`\);\s*\}\s*task\.setParentSubtask\(subtask\);\s*\}\s*\}\s*const started = task\.enterSync\(\);/;
const TASK_CALL = /_withGlobalCurrentTaskMeta\(\{\s*componentIdx: task\.componentIdx\(\),\s*taskID: task\.id\(\),\s*fn: \(\) => _trackHostOperation\(\(\) => ([^\n]*)\),\s*\}\)/;
const TASK_ERROR_LOG = /_debugLog\('\[Instruction::CallInterface\] error during sync call', \{\s*taskID: task\.id\(\),\s*subtaskID: task\.getParentSubtask\(\)\?\.id\(\),\s*err,\s*\}\);/;
const TASK_FAIL = /task\.setErrored\(err\);\s*task\.reject\(err\);\s*task\.exit\(\);/;
const TASK_DONE = /task\.resolve\(\[[^\n]*\]\);\s*task\.exit\(\);/;
const TASK_WORDS = /\b(task|subtask|parentTask|started)\b/;

/** The trampoline body without its task bookkeeping, or undefined when it is not the known shape. */
function directBody(body: string): string | undefined {
  if (!TASK_SETUP.test(body) || !TASK_CALL.test(body) || !TASK_DONE.test(body)) return undefined;
  let out = body.replace(TASK_SETUP, '').replace(TASK_CALL, '($1)').replace(TASK_DONE, '');
  out = out.replace(TASK_ERROR_LOG, '').replace(TASK_FAIL, '');
  return TASK_WORDS.test(out) ? undefined : out;
}

/**
 * `let trampolineN = ...` (the lowering of `_trampolineN`): its component index when both of its
 * forms say sync lowering of a sync function, else undefined.
 */
function syncLowering(statement: string): number | undefined {
  const flags = (name: string) => [...statement.matchAll(new RegExp(`\\b${name}: (\\w+),`, 'g'))].map((m) => m[1]);
  const isAsync = flags('isAsync');
  const funcAsync = flags('funcTypeIsAsync');
  const idx = new Set(flags('componentIdx'));
  if (isAsync.length !== 2 || funcAsync.length !== 2 || idx.size !== 1) return undefined;
  if (![...isAsync, ...funcAsync].every((v) => v === 'false')) return undefined;
  const c = Number([...idx][0]);
  return Number.isInteger(c) ? c : undefined;
}

/** The rewritten bindings, and how many host imports became direct calls (for tests). */
export function directHostImports(source: string): { source: string; direct: number } {
  let out = source;
  let direct = 0;
  for (const m of source.matchAll(/const (_trampoline\d+) = function\(([^)]*)\) \{/g)) {
    const name = m[1]!;
    const start = out.indexOf(m[0]) + m[0].length;
    const endMarker = `\n  ${name}.fnName = `;
    const end = out.indexOf(endMarker, start);
    if (end < 0) continue;
    const close = out.lastIndexOf('}', end);
    const body = out.slice(start, close);
    const lowerStart = out.indexOf(`let ${name.slice(1)} = ${name}.manuallyAsync ? `);
    if (lowerStart < close) continue;
    const lowerEndMarker = `importFn: ${name},\n  },\n  );`;
    const first = out.indexOf(`importFn: ${name},`, lowerStart);
    const lowerEnd = first < 0 ? -1 : out.indexOf(lowerEndMarker, first + 1);
    if (lowerEnd < 0) continue;
    const statement = out.slice(lowerStart, lowerEnd + lowerEndMarker.length);
    const componentIdx = syncLowering(statement);
    const newBody = directBody(body);
    if (componentIdx === undefined || newBody === undefined) continue;
    // The lowering statement comes after the trampoline: replace it first so `start` stays valid.
    out = out.slice(0, lowerStart) + `let ${name.slice(1)} = ${name};` + out.slice(lowerStart + statement.length);
    out = out.slice(0, start) + `\n    _checkMayLeave(${componentIdx});` + newBody + out.slice(close);
    direct++;
  }
  return { source: out, direct };
}
