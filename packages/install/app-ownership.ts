// An app id belongs to the vendor that first installed it (DESIGN.md, "One vendor identity"):
// another vendor's package with that id is refused, whoever's key signed it, unless the operator
// names the current owner to hand the id over. Without this, any trusted vendor could replace any
// other vendor's app by reusing its id (issue 9: "victim-svc" 9.0.0 from Rogue Labs replaced 1.0.0).
import { PackageError } from '../package-errors.js';

export interface AppOwner { appId: string; vendor: string; since: string; transferredFrom: string | null }

/**
 * Throws BH_ERR_APP_OWNED unless `vendor` may install `appId`. `transferFrom`, when given, must be
 * exactly the current owner (vendor names are compared exactly, never by a derived form).
 */
export function checkAppOwnership(appId: string, vendor: string, owner: AppOwner | undefined, transferFrom?: string): void {
  if (transferFrom !== undefined) {
    if (!owner) throw new PackageError('BH_ERR_APP_OWNED', `--transfer-from ${JSON.stringify(transferFrom)}: no vendor owns ${appId} yet; install it without --transfer-from`);
    if (owner.vendor !== transferFrom) {
      throw new PackageError('BH_ERR_APP_OWNED', `--transfer-from ${JSON.stringify(transferFrom)}: ${appId} belongs to ${JSON.stringify(owner.vendor)}, not ${JSON.stringify(transferFrom)}; nothing was changed`);
    }
    return;
  }
  if (owner && owner.vendor !== vendor) {
    throw new PackageError('BH_ERR_APP_OWNED', `app id ${appId} belongs to ${JSON.stringify(owner.vendor)} (since ${owner.since}); this package is from ${JSON.stringify(vendor)}. `
      + `To hand the id over, the operator installs it with --transfer-from ${JSON.stringify(owner.vendor)}`);
  }
}
