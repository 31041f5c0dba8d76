import { Worker } from 'node:worker_threads';
const w = new Worker(`import { register } from 'tsx/esm/api'; register(); process.argv[2] = '/tmp/exp/jco-patched'; await import('/work/main/scratch-jco2.ts');`, { eval: true, execArgv: [] });
w.on('exit', () => console.log('done'));
