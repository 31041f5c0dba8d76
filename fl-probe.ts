import { TestWfm } from './test/support/test-wfm.js';
import { makeSpiffePki, WFM_SPIFFE_ID } from './test/support/spiffe-pki.js';
const pki = makeSpiffePki();
try { const w = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID }); console.log(w.url); await w.close(); } catch (e) { console.error(e); }
