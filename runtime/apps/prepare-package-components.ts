// The install-time step for wasm components: every component of the package's wasm profile is
// transpiled (or found in the cache) before the install commits, so a package whose component
// cannot run on this device is refused at install, not at its first start.
import fs from 'node:fs';
import path from 'node:path';
import { PackageError } from '../../packages/package-errors.js';
import type { ApplicationDescription, WasmComponentProperties } from '../../packages/manifest/application-description.js';
import { binaryKind } from '../sandbox/wasm-binary.js';
import { wasmProfile } from './app-plan.js';
import { ComponentPrepareError, prepareComponent } from './component-cache.js';

export async function preparePackageComponents(manifest: ApplicationDescription, dir: string, dataDir: string, say?: (line: string) => void): Promise<void> {
  for (const c of wasmProfile(manifest)?.components ?? []) {
    const props = c.properties as unknown as WasmComponentProperties;
    const bytes = fs.readFileSync(path.join(dir, props.module));
    let kind;
    try {
      kind = binaryKind(bytes);
    } catch (err) {
      throw new PackageError('BH_ERR_COMPONENT', `${props.module}: ${(err as Error).message}`);
    }
    if (kind !== 'component') continue;
    try {
      const prepared = await prepareComponent(bytes, dataDir, props.module);
      if (prepared.transpiled) say?.(`prepared component ${c.name} (${props.module})`);
    } catch (err) {
      if (err instanceof ComponentPrepareError) throw new PackageError('BH_ERR_COMPONENT', err.message);
      throw err;
    }
  }
}
