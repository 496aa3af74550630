'use strict';
// Written by hand, not generated: holds the API table (lib/surface.ts), from which the error tests
// are generated, against the docs. Every member of WorkerWaker and SignalWords has a row in the
// docs/contract.md table of its class with the same arguments in the same order and the same
// ranges; every member and option of the pool has a row in docs/pool.md's tables with the same
// arguments and what it accepts; and every member and option the docs list is in the table. A
// wrong table fails here.
const fs = require('node:fs');
const path = require('node:path');
const { SURFACE, isFixedLimit, optionTexts } = require('./support/surface-cases');

const readDoc = (name) => fs.readFileSync(path.join(__dirname, '..', 'docs', name), 'utf8');
const contract = readDoc('contract.md');
const poolDoc = readDoc('pool.md');

/** The section of `doc` under "## heading" (the heading text at its start). */
function section(doc, heading, docName) {
  const found = doc.split(/^## /m).find((part) => part.startsWith(heading));
  if (found === undefined) throw new Error(`docs/${docName} has no section ${heading}`);
  return found;
}

/** The cells of each table row of `text` whose first cell starts with a code span. */
function tableRows(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim()));
}

const codeSpans = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map(([, text]) => text);

/** The rows of the member table under "## `className`": { members: [{ name, kind, args }], errors }. */
function contractRows(className) {
  return tableRows(section(contract, `\`${className}\``, 'contract.md')).map(([memberCell, , errorsCell]) => ({
    members: codeSpans(memberCell).map(parseSignature),
    errors: errorsCell,
  }));
}

/** "new X(buffer?)", "markActive(index)", "words", "[Symbol.asyncDispose]()": name, kind and argument names. */
function parseSignature(text) {
  const match = /^(new )?(\[Symbol\.[A-Za-z]+\]|[A-Za-z]+)(?:\((.*)\))?$/.exec(text);
  if (match === null) throw new Error(`docs: cannot read the member ${text}`);
  const [, isNew, key, argList] = match;
  const name = key.replace(/^\[|\]$/g, '');
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

describe.each(['WorkerWaker', 'SignalWords'])('%s', (className) => {
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

describe('Pool (docs/pool.md)', () => {
  test('the Members table lists exactly the members of the table, with the same kind and arguments', () => {
    const documented = tableRows(section(poolDoc, 'Members', 'pool.md')).flatMap(([memberCell]) => codeSpans(memberCell).map(parseSignature));
    const expected = SURFACE.Pool.map((member) => ({ name: member.name, kind: member.kind, args: member.args.map((arg) => arg.name) }));
    const byName = (a, b) => a.name.localeCompare(b.name);
    expect(documented.sort(byName)).toEqual(expected.sort(byName));
  });

  /** Every option of `fields`, nested ones as "parent.field": [name, option]. */
  const flatten = (fields, parents = []) =>
    fields.flatMap((option) => [[[...parents, option.name].join('.'), option], ...(option.type === 'object' && option.fields ? flatten(option.fields, [...parents, option.name]) : [])]);

  /** The rows of the options table in `heading`: [name, { accepts, rest }] for each option a row names. */
  const optionRows = (heading) =>
    tableRows(section(poolDoc, heading, 'pool.md')).flatMap(([nameCell, accepts, ...rest]) => codeSpans(nameCell).map((name) => [name, { accepts, rest }]));

  const cases = [
    ['new Pool(options)', 'Options', SURFACE.Pool.find((member) => member.kind === 'constructor')],
    ['run(arg, options)', 'Running tasks', SURFACE.Pool.find((member) => member.name === 'run')],
  ];
  describe.each(cases)('%s', (_, heading, member) => {
    const { fields } = member.args.find((arg) => arg.name === 'options');
    const options = flatten(fields);
    const rows = optionRows(heading);

    test('the docs table lists exactly the options of the table', () => {
      expect(rows.map(([name]) => name).sort()).toEqual(options.map(([name]) => name).sort());
    });

    test.each(options)('%s: the docs say what it accepts, as its errors say it', (name, option) => {
      const row = rows.find(([documented]) => documented === name);
      expect(row).toBeDefined();
      const [typeText, rangeText] = optionTexts(option);
      expect([name, row[1].accepts]).toEqual([name, expect.stringContaining(rangeText ?? typeText)]);
      // Only a required option says so.
      expect([name, row[1].rest.some((cell) => cell.includes('(required)'))]).toEqual([name, option.required === true]);
    });
  });
});
