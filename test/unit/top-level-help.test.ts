// The thin client prints `bulkhead --help` from a snapshot; it must be what commander renders from
// the commands' definitions today.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderTopLevelHelp } from '../../runtime/cli/main.js';
import { TOP_LEVEL_HELP } from '../../runtime/cli/top-level-help.js';

test('the --help snapshot matches the commands (else: node --import tsx scripts/generate-help.ts)', async () => {
  assert.is(TOP_LEVEL_HELP, await renderTopLevelHelp());
});

test.run();
