// Writes a benchmark's results as a markdown table under bench/results/ and prints it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, percentile, type Sample } from './stats.js';

const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/**
 * The previous results' run line and table (without their own previous section), kept below the
 * new ones so a change's before/after stays visible in bench/results/.
 */
function previousRun(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8').split('\n## Previous run')[0]!;
  const lines = text.split('\n');
  const run = lines.find((l) => l.startsWith('Run '));
  const table = lines.filter((l) => l.startsWith('|'));
  if (!run || table.length === 0) return [];
  return ['## Previous run (before this one; kept for comparison)', '', run, '', ...table, ''];
}

export function writeReport(name: string, title: string, rows: Sample[], extra: string[] = []): string {
  const file = path.join(resultsDir, `${name}.md`);
  const previous = previousRun(file);
  const lines = [
    `# ${title}`,
    '',
    `Run ${new Date().toISOString()} on ${machineLine()}.`,
    '',
    '| measurement | n | median | p95 | unit | note |',
    '|---|---:|---:|---:|---|---|',
    ...rows.map((r) => r.samples.length === 0
      ? `| ${r.label} | 0 | - | - | ${r.unit} | ${r.note ?? ''} |`
      : `| ${r.label} | ${r.samples.length} | ${fmt(median(r.samples))} | ${fmt(percentile(r.samples, 95))} | ${r.unit} | ${r.note ?? ''} |`),
    '',
    ...extra,
    '',
    ...previous,
  ];
  const text = lines.join('\n');
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(file, text);
  process.stdout.write(`${text}\nwritten to ${path.relative(process.cwd(), file)}\n`);
  return file;
}
