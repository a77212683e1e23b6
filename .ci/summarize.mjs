// Sums vitest JSON reports into the last line CI reads: "N passed, N failed". Failed counts the
// failed tests, plus each test file that failed outside any test (it could not be loaded, or a
// hook threw: the tests it skipped are not failures of their own). A report that cannot be
// read, or no report at all, counts as one failure.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    for (const result of report.testResults) {
      const failedTests = result.assertionResults.filter((test) => test.status === 'failed').length;
      if (result.status === 'failed' && failedTests === 0) failed += 1;
    }
  } catch (error) {
    console.error(`cannot read ${file}: ${error.message}`);
    failed += 1;
  }
}
if (process.argv.length <= 2) failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
