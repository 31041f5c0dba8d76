// One converge of the fleet applier in its own process (as the daemon would run it), for crash
// tests: `node --import tsx fleet-converge-child.ts DATA_DIR DEPLOYMENTS.json` prints each status
// report as a JSON line; BULKHEAD_TEST_CRASH_AT makes it SIGKILL itself at that point.
import fs from 'node:fs';
import type { AdoptedDeployment } from '../../runtime/fleet/deployment-applier.js';
import { openFleetDevice } from './fleet-device.js';

const [dataDir, input] = process.argv.slice(2) as [string, string];
const deployments: AdoptedDeployment[] = (JSON.parse(fs.readFileSync(input, 'utf8')) as (Omit<AdoptedDeployment, 'document'> & { document: string })[])
  .map((d) => ({ ...d, document: Buffer.from(d.document, 'base64') }));
const device = openFleetDevice(dataDir, { labels: { site: 'plant-7' } });
try {
  await device.applier.converge(deployments, (r) => process.stdout.write(`${JSON.stringify(r)}\n`));
} finally {
  device.close();
}
