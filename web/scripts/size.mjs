// Prints the widget's size, raw and gzipped, and fails the build past the 30 KB gzip budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 30 * 1024;
const raw = readFileSync(new URL('../dist/widget.js', import.meta.url));
const gz = gzipSync(raw, { level: 9 }).length;
console.log(`widget.js: ${(raw.length / 1024).toFixed(1)} KB raw, ${(gz / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB)`);
if (gz > BUDGET) {
  console.error('widget.js is over its gzip budget');
  process.exit(1);
}
