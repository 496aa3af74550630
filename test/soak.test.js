'use strict';
// A short soak (test/soak/soak.js, ~3 s): workers and the event loop hammer a waker, its signal
// words and a permit pool at random, with acquireAsync calls from every thread, and crowd one hot
// signal word half of each second; the invariants (no false negative, conservation, bounded
// threads and heaps) are checked at quiet points every second and at the end. The long
// run is `npm run soak -- --seconds N` (docs/testing.md). A core whose tryUnmarkIfEmpty lost its
// recheck fails this run (measured: at the first quiet point 11 times in 12, at the second once).
const path = require('node:path');
const { execFile } = require('node:child_process');

test('a 3-second soak keeps every invariant at every quiet point', async () => {
  const script = path.join(__dirname, 'soak', 'soak.js');
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile(process.execPath, [script, '--seconds', '3'], { timeout: 30000 }, (error, out, err) =>
      resolve({ code: error ? error.code ?? error.signal : 0, stdout: out, stderr: err }),
    );
  });
  // On failure stdout says which invariant broke ("FAIL check 2: ...").
  expect({ code, stderr, last: stdout.trim().split('\n').pop() }).toEqual({
    code: 0,
    stderr: '',
    last: expect.stringMatching(/^ok [\d,]+ ops in [\d.]+ s, all invariants held$/),
  });
  // At least three timed checks plus the final one ran; the hot word was crowded; and async
  // calls were granted, timed out and aborted on the main thread and in the workers alike.
  const progress = stdout.trim().split('\n').slice(-2, -1)[0];
  const number = (text) => Number(text.replace(/,/g, ''));
  const [, hot] = /([\d,]+) on the hot word/.exec(progress);
  const [, main, workers, checks] =
    /async granted \/ timed out \/ aborted: main ([\d, /]+), workers ([\d, /]+) \| (\d+) checks ok/.exec(progress);
  expect(Number(checks)).toBeGreaterThanOrEqual(4);
  expect(number(hot)).toBeGreaterThan(0);
  for (const outcomes of [main, workers]) {
    const counts = outcomes.split(' / ').map(number);
    expect(counts).toHaveLength(3);
    for (const count of counts) expect(count).toBeGreaterThan(0);
  }
});
