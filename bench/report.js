'use strict';
// Output of the benchmark: the console table and the SVG plot (hand-written, no dependencies).

const SECTION_TITLES = {
  blocking: 'Blocking round trip, worker <-> worker, two CPUs (us per round trip; ratio vs the Atomics.wait semaphore)',
  blockingSameCpu: 'Blocking round trip, worker <-> worker, one CPU (us per round trip; ratio vs the Atomics.wait semaphore)',
  async: 'Async round trip, main <-> worker, two CPUs (us per round trip; ratio vs Atomics.waitAsync)',
  asyncSameCpu: 'Async round trip, main <-> worker, one CPU (us per round trip; ratio vs Atomics.waitAsync)',
  fastPath: 'Fast-path cost per call from JS (ns per call; ratio vs the pure-JS peer)',
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
  lines.push(`each row: median of ${results.rounds} rounds (range in brackets); ${results.placement}`);
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
    const verdict = t.ratio === null ? `not measured: ${t.note}` : t.met ? 'met' : 'not met';
    lines.push(`  ${t.name.padEnd(58)} ${value.padStart(7)} (target <= ${t.target}x) ${verdict}`);
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

/** Horizontal bars of the round-trip medians, one group per section, with the round range. */
function svg(results) {
  const groups = ['blocking', 'blockingSameCpu', 'async', 'asyncSameCpu'].map((section) => ({
    title: SECTION_TITLES[section].replace(/ \(.*\)$/, ''),
    rows: results.rows.filter((r) => r.section === section),
  }));
  const measured = groups.flatMap((g) => g.rows).filter((r) => !r.skipped);
  const max = Math.max(...measured.map((r) => Math.max(...r.rounds)), 1e-9);
  const labelWidth = Math.ceil(Math.max(...groups.flatMap((g) => g.rows.map((r) => r.label.length))) * 6.7) + 20;
  const plotWidth = 420;
  const barHeight = 18;
  const gap = 6;
  const left = 10;
  const scale = (us) => (us / max) * plotWidth;
  const parts = [];
  let y = 64;
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
  const { machine } = results;
  const width = left + labelWidth + plotWidth + 140;
  const height = y + 10;
  const title = `worker-waker round trips, median of ${results.rounds} rounds (line: range), shorter is better`;
  const subtitle = `${machine.cpu}, ${machine.cores} cores, ${machine.platform}-${machine.arch}, Node ${machine.node}, ${results.mode} run, ${results.date}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.group{font-weight:bold}.note{fill:#777;font-style:italic}.bar{fill:#9aa7b8}.ours{fill:#2f6db5}.probe{fill:#8fb8e8}.range{stroke:#222;stroke-width:1.5}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="18" class="group">${escapeXml(title)}</text>`,
    `<text x="${left}" y="34" class="note">${escapeXml(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

module.exports = { table, svg };
