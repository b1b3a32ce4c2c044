// A node:test reporter that turns the runner's coverage summary into the
// totals for src/ alone (node 20 reports test files too and has no include
// flag), writes them as JSON to its destination, and checks nothing itself:
// scripts/run-tests.mjs compares them with the floor.
import { relative, sep } from 'node:path';

const ROOT = process.cwd();

export default async function* coverageReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:coverage') continue;
    const totals = { files: 0, lines: [0, 0], branches: [0, 0], functions: [0, 0] };
    for (const file of event.data.summary.files) {
      const path = relative(ROOT, file.path).split(sep).join('/');
      if (!path.startsWith('src/') || path.endsWith('.test.ts')) continue;
      totals.files += 1;
      totals.lines[0] += file.coveredLineCount;
      totals.lines[1] += file.totalLineCount;
      totals.branches[0] += file.coveredBranchCount;
      totals.branches[1] += file.totalBranchCount;
      totals.functions[0] += file.coveredFunctionCount;
      totals.functions[1] += file.totalFunctionCount;
    }
    yield `${JSON.stringify(totals)}\n`;
  }
}
