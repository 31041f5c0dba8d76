// Runs the fleet link inside the daemon while the device is joined: it watches the join row
// (fleet join / fleet leave from the CLI change it) and starts, stops or restarts the link to
// match. Each join gets its own applier (its device facts are the join's).
import type Database from 'better-sqlite3';
import type { DeploymentApplier } from './deployment-applier.js';
import { EnrollmentStore, type Enrollment } from './fleet-enrollment.js';
import { FleetLink, type FleetLinkOptions } from './fleet-link.js';

export interface FleetSupervisorOptions {
  dataDir: string;
  db: Database.Database;
  say: (line: string) => void;
  /** The applier for a join (its device facts come from the join); undefined: the link is not run (said once). */
  createApplier?: (enrollment: Enrollment) => DeploymentApplier | Promise<DeploymentApplier>;
  link?: Partial<FleetLinkOptions>;
  /** How often the join row is read (ms). */
  checkMs?: number;
}

export async function superviseFleet(options: FleetSupervisorOptions, signal: AbortSignal): Promise<void> {
  const enrollments = new EnrollmentStore(options.db);
  let current: { generation: number; controller: AbortController; running: Promise<void> } | undefined;
  let complainedAbout = 0;
  const stop = async () => {
    if (!current) return;
    current.controller.abort();
    await current.running;
    current = undefined;
  };
  while (!signal.aborted) {
    const generation = enrollments.generation();
    if (current && current.generation !== generation) {
      options.say(generation === 0 ? 'fleet: left the fleet manager; link stopped' : 'fleet: joined again; restarting the link');
      await stop();
    }
    if (!current && generation !== 0 && complainedAbout !== generation) {
      try {
        const enrollment = enrollments.get();
        if (!enrollment) continue;
        if (!options.createApplier) throw new Error('no deployment applier was given, so the fleet manager is not polled');
        const applier = await options.createApplier(enrollment);
        const link = new FleetLink({ db: options.db, dataDir: options.dataDir, applier, say: options.say, ...options.link });
        const controller = new AbortController();
        const running = link.run(controller.signal).catch((err: Error) => {
          options.say(`fleet: the link stopped: ${err.message}`);
        });
        current = { generation, controller, running };
        options.say(`fleet: following ${enrollment.wfmUrl} as ${enrollment.deviceId}`);
      } catch (err) {
        complainedAbout = generation;
        options.say(`fleet: cannot start the link: ${(err as Error).message}`);
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.checkMs ?? 1000);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
  await stop();
}
