'use strict';
// Written by hand, not generated: holds the API table (lib/surface.ts), from which the error tests
// are generated, against docs/contract.md. Every member of the table has a row in the contract
// table of its class with the same arguments in the same order and the same ranges, and every
// member the contract lists is in the table. A wrong table fails here.
const fs = require('node:fs');
const path = require('node:path');
const { SURFACE, isFixedLimit } = require('./support/surface-cases');

const contract = fs.readFileSync(path.join(__dirname, '..', 'docs', 'contract.md'), 'utf8');

/** The rows of the member table under "## `className`": { members: [{ name, kind, args }], errors }. */
function contractRows(className) {
  const section = contract.split(/^## /m).find((part) => part.startsWith(`\`${className}\``));
  if (section === undefined) throw new Error(`docs/contract.md has no section for ${className}`);
  const rows = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const [memberCell, , errorsCell] = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    const members = [...memberCell.matchAll(/`([^`]+)`/g)].map(([, text]) => parseSignature(text));
    rows.push({ members, errors: errorsCell, line });
  }
  return rows;
}

/** "new X(buffer?)", "markActive(index)", "words": name, kind and argument names. */
function parseSignature(text) {
  const match = /^(new )?([A-Za-z]+)(?:\((.*)\))?$/.exec(text);
  if (match === null) throw new Error(`docs/contract.md: cannot read the member ${text}`);
  const [, isNew, name, argList] = match;
  const args = argList === undefined || argList === '' ? [] : argList.split(',').map((arg) => arg.trim().replace(/\?$|\s*=.*$/, ''));
  if (isNew) return { name: 'constructor', kind: 'constructor', args };
  return { name, kind: argList === undefined ? 'getter' : 'method', args };
}

/** How the contract states an argument's range (a substring of its row's errors cell). */
function rangeText(arg) {
  switch (arg.type) {
    case 'integer':
      if (arg.range !== undefined) return arg.range;
      if (!isFixedLimit(arg.min) || !isFixedLimit(arg.max)) throw new Error(`${arg.name}: a dependent range needs its contract text in the table`);
      if (arg.min === 0 && arg.max === Number.MAX_SAFE_INTEGER) return 'a non-negative safe integer';
      return `${arg.min}–${arg.max}`;
    case 'number':
      return `a number ≥ ${arg.min}, \`Infinity\` allowed`;
    case 'bigint':
      return `\`[${arg.min}n, 2n ** ${arg.limit.toString(2).length - 1}n)\``;
    case 'BigUint64Array':
      return arg.minLength === 0 ? '`BigUint64Array`' : arg.minLength === 1 ? 'a `BigUint64Array` of at least one element' : `at least ${arg.minLength} elements`;
    case 'SharedArrayBuffer':
      return 'SharedArrayBuffer';
    case 'WorkerWaker':
      return `\`${arg.name}\` is not a \`WorkerWaker\``;
    default:
      return undefined; // options: described in their own section
  }
}

describe.each(Object.keys(SURFACE))('%s', (className) => {
  const rows = contractRows(className);
  const documented = rows.flatMap((row) => row.members.map((member) => ({ ...member, row })));

  test('the contract lists exactly the members of the table', () => {
    expect(documented.map((member) => member.name).sort()).toEqual(SURFACE[className].map((member) => member.name).sort());
  });

  test.each(SURFACE[className].map((member) => [member.name, member]))('%s: same kind, arguments and ranges', (name, member) => {
    const entry = documented.find((candidate) => candidate.name === name);
    expect(entry).toBeDefined();
    expect({ kind: entry.kind, args: entry.args }).toEqual({ kind: member.kind, args: member.args.map((arg) => arg.name) });
    for (const arg of member.args) {
      const text = rangeText(arg);
      if (text === undefined) continue;
      // Each argument with a range is named in its row, and its range is the table's.
      expect([arg.name, entry.row.errors]).toEqual([arg.name, expect.stringContaining(text)]);
      if (member.kind !== 'constructor') expect([arg.name, entry.row.errors]).toEqual([arg.name, expect.stringMatching(new RegExp(`\\b${arg.name}\\b`))]);
    }
  });
});
