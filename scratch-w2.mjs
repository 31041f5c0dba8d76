import { Worker } from 'node:worker_threads';
for (const rl of [undefined, { maxOldGenerationSizeMb: 128 }]) {
  await new Promise((resolve) => {
    const w = new Worker(`import { register } from 'tsx/esm/api'; register(); process.argv[2] = '/tmp/exp/jco-patched'; await import('/work/main/scratch-jco2.ts');`, { eval: true, execArgv: [], resourceLimits: rl });
    w.on('exit', resolve);
  });
}
