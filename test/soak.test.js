'use strict';
// A short soak (test/soak/soak.js, ~3 s): workers and the event loop hammer a waker, its signal
// words and a permit pool at random; the invariants are checked at quiet points about every
// second and at the end. The long run is `npm run soak -- --seconds N` (see the README).
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
  // At least three timed checks plus the final one ran, and async calls were granted, timed
  // out and aborted along the way.
  const progress = stdout.trim().split('\n').slice(-2, -1)[0];
  const [, granted, timedOut, aborted, checks] = /async ([\d,]+) granted \/ ([\d,]+) timed out \/ ([\d,]+) aborted \| (\d+) checks ok/.exec(progress);
  expect(Number(checks)).toBeGreaterThanOrEqual(4);
  for (const count of [granted, timedOut, aborted]) expect(Number(count.replace(/,/g, ''))).toBeGreaterThan(0);
});
