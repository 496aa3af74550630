'use strict';
// Output of the benchmark: the console table and the SVG plot (hand-written, no dependencies).

const SECTION_TITLES = {
  blocking: 'Blocking round trip, worker <-> worker, two CPUs (us per round trip; ratio vs the Atomics.wait semaphore)',
  blockingSameCpu: 'Blocking round trip, worker <-> worker, one CPU (us per round trip; ratio vs the Atomics.wait semaphore)',
  async: 'Async round trip, main <-> worker, two CPUs, answered at once: mostly immediate grants (us per round trip; ratio vs Atomics.waitAsync)',
  asyncWaiting: 'Async round trip, main <-> worker, two CPUs, answered once the call is pending: every call waits (us per round trip; ratio vs Atomics.waitAsync)',
  asyncSameCpu: 'Async round trip, main <-> worker, one CPU (us per round trip; ratio vs Atomics.waitAsync)',
  wakeSoon: 'Wake of a pending call, answered 2 us after it is pending by a worker kept awake (us from the answer to the resumed await; ratio: median of per-round ratios vs Atomics.waitAsync)',
  wakeLate: 'Wake of a pending call, answered 60 us after it is pending, event loop asleep (same measure; parity is the floor)',
  fastPath: 'Fast-path cost per call from JS (ns per call; ratio vs the pure-JS peer: the median of the per-round ratios)',
  fanout: 'Fan-out, one producer -> N parked consumers (ratio vs the Atomics.wait peer)',
};

function formatNumber(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(ratio) {
  return `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}x`;
}

function table(results) {
  const lines = [];
  const { machine } = results;
  lines.push(`worker-waker benchmark (${results.mode}) on ${machine.cpu}, ${machine.cores} cores, ` +
    `${machine.platform}-${machine.arch}, Node ${machine.node}`);
  lines.push(`each row: median of ${results.rounds} rounds (fast path: ${results.config.fastRounds}), range in brackets; ${results.placement}`);
  for (const section of Object.keys(SECTION_TITLES)) {
    const rows = results.rows.filter((r) => r.section === section);
    if (rows.length === 0) continue;
    lines.push('', SECTION_TITLES[section]);
    const width = Math.max(...rows.map((r) => r.label.length));
    for (const r of rows) {
      if (r.skipped) {
        lines.push(`  ${r.label.padEnd(width)}  skipped: ${r.note}`);
        continue;
      }
      const range = `[${formatNumber(Math.min(...r.rounds))}-${formatNumber(Math.max(...r.rounds))}]`;
      const value = `${formatNumber(r.median)} ${r.unit}`.padStart(18);
      const ratio = r.ratio === undefined ? '' : formatRatio(r.ratio).padStart(8);
      lines.push(`  ${r.label.padEnd(width)}  ${value} ${range.padEnd(20)}${ratio}`);
    }
  }
  lines.push('', 'Targets (ratios measured in this run)');
  for (const t of results.targets) {
    const value = t.ratio === null ? 'n/a' : formatRatio(t.ratio);
    let verdict = t.ratio === null ? `not measured: ${t.note}` : t.met ? 'met' : 'not met';
    if (t.ratio !== null && !t.met && t.parity) verdict = `not met, but at parity (within the +/-${t.noise} run-to-run noise)`;
    const spread = t.spread === undefined ? '' : ` [${formatRatio(t.spread[0])}-${formatRatio(t.spread[1])}]`;
    lines.push(`  ${t.name.padEnd(66)} ${value.padStart(7)}${spread} (target <= ${t.target}x) ${verdict}`);
  }
  return lines.join('\n');
}

function escapeXml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function barClass(id) {
  if (id.startsWith('worker-waker')) return 'ours';
  return id.startsWith('probe') ? 'probe' : 'bar';
}

function formatMicros(us) {
  return us >= 1 ? `${us} us` : `${us.toFixed(-Math.floor(Math.log10(us)))} us`;
}

/**
 * Horizontal bars of the round-trip medians, one group per section, with the round range, on a
 * log scale (whole decades, from one below the fastest round to the slowest): the rows span
 * 0.1 us to 100+ us, and on a linear axis every sub-microsecond bar would be invisible.
 */
function svg(results) {
  const groups = ['blocking', 'blockingSameCpu', 'async', 'asyncWaiting', 'asyncSameCpu', 'wakeSoon', 'wakeLate'].map((section) => ({
    title: SECTION_TITLES[section].replace(/ \(.*\)$/, ''),
    rows: results.rows.filter((r) => r.section === section),
  }));
  const measured = groups.flatMap((g) => g.rows).filter((r) => !r.skipped);
  const values = measured.flatMap((r) => r.rounds).filter((v) => v > 0);
  // The axis starts a decade below the fastest round, so that the shortest bar is a decade long.
  const lowDecade = Math.floor(Math.log10(Math.min(...values, 1))) - 1;
  const highDecade = Math.max(Math.ceil(Math.log10(Math.max(...values, 1))), lowDecade + 1);
  const labelWidth = Math.ceil(Math.max(...groups.flatMap((g) => g.rows.map((r) => r.label.length))) * 6.7) + 20;
  const plotWidth = 420;
  const barHeight = 18;
  const gap = 6;
  const left = 10;
  const x0 = left + labelWidth;
  // Position of `us` on the axis (0 at 10^lowDecade us, plotWidth at 10^highDecade us).
  const scale = (us) => ((Math.log10(Math.max(us, 10 ** lowDecade)) - lowDecade) / (highDecade - lowDecade)) * plotWidth;
  const parts = [];
  const top = 64;
  let y = top;
  for (const group of groups) {
    parts.push(`<text x="${left}" y="${y}" class="group">${escapeXml(group.title)}</text>`);
    y += 12;
    for (const r of group.rows) {
      const x = left + labelWidth;
      parts.push(`<text x="${x - 8}" y="${y + 13}" text-anchor="end">${escapeXml(r.label)}</text>`);
      if (r.skipped) {
        parts.push(`<text x="${x}" y="${y + 13}" class="note">skipped: ${escapeXml(r.note)}</text>`);
      } else {
        const width = Math.max(1, scale(r.median));
        const lo = x + scale(Math.min(...r.rounds));
        const hi = x + scale(Math.max(...r.rounds));
        const mid = y + barHeight / 2;
        const ratio = r.ratio === undefined ? '' : ` (${formatRatio(r.ratio)})`;
        parts.push(`<rect x="${x}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" class="${barClass(r.id)}"/>`);
        parts.push(`<line x1="${lo.toFixed(1)}" y1="${mid}" x2="${hi.toFixed(1)}" y2="${mid}" class="range"/>`);
        parts.push(`<text x="${(Math.max(x + width, hi) + 6).toFixed(1)}" y="${y + 13}">${formatNumber(r.median)} us${ratio}</text>`);
      }
      y += barHeight + gap;
    }
    y += 22;
  }
  // Decade grid lines and their labels, under the bars.
  const grid = [];
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    const x = (x0 + scale(10 ** decade)).toFixed(1);
    grid.push(`<line x1="${x}" y1="${top - 8}" x2="${x}" y2="${y - 16}" class="grid"/>`);
    grid.push(`<text x="${x}" y="${top - 12}" text-anchor="middle" class="note">${formatMicros(10 ** decade)}</text>`);
  }
  const { machine } = results;
  const width = left + labelWidth + plotWidth + 140;
  const height = y + 10;
  const title = `worker-waker round trips, median of ${results.rounds} rounds (line: range), log scale, shorter is better`;
  const subtitle = `${machine.cpu}, ${machine.cores} cores, ${machine.platform}-${machine.arch}, Node ${machine.node}, ${results.mode} run, ${results.date}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.group{font-weight:bold}.note{fill:#777;font-style:italic}.bar{fill:#9aa7b8}.ours{fill:#2f6db5}.probe{fill:#8fb8e8}.range{stroke:#222;stroke-width:1.5}.grid{stroke:#ddd;stroke-width:1}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="18" class="group">${escapeXml(title)}</text>`,
    `<text x="${left}" y="34" class="note">${escapeXml(subtitle)}</text>`,
    ...grid,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

module.exports = { table, svg, formatNumber, formatRatio };
