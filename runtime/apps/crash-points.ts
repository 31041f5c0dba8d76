// Test-only crash injection: with BULKHEAD_TEST_CRASH_AT=<point>, the daemon kills itself with
// SIGKILL when it reaches that point, so tests can check what a kill -9 at exactly that moment
// leaves behind (a random kill rarely lands inside a window of a few milliseconds).
// Points: starting (a start recorded, no guest code yet), started, stopping, reconciled; with an
// app, `starting:APP` and so on apply to that app only.
export function crashPoint(point: string, appId?: string): void {
  const at = process.env.BULKHEAD_TEST_CRASH_AT;
  if (at && (at === point || (appId !== undefined && at === `${point}:${appId}`))) process.kill(process.pid, 'SIGKILL');
}
