'use strict';
// Finds the code examples of the documentation: the ```js/```cjs/```mjs/```ts blocks of README.md and
// docs/**/*.md (docs/api/ is generated from lib/, whose @example blocks are read at the source), and
// the @example blocks of the doc comments in lib/ and its folders. The conventions are in docs/contributing.md:
//
// - A block whose first line is a file-name comment (`// main.js`) names its file. Consecutive named
//   blocks under one heading (no unnamed code block between them) form one example; its first block
//   is the one that runs. An unnamed block is an example of its own, run as main.<ext>.
// - `<!-- not-run: reason -->` on the line before a block (blank lines allowed) keeps it from running.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const RUNNABLE = new Set(['js', 'cjs', 'mjs', 'ts']);
const FILE_NAME = /^\/\/ ([\w.-]+\.(?:js|cjs|mjs|ts))\s*$/;
const NOT_RUN = /^<!--\s*not-run:\s*(.+?)\s*-->$/;

/** The Markdown files whose examples run: README.md and every docs/**\/*.md outside docs/api/. */
function markdownFiles(root = ROOT) {
  const files = ['README.md'];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (rel !== 'docs/api') walk(rel);
      } else if (entry.name.endsWith('.md')) {
        files.push(rel);
      }
    }
  };
  if (fs.existsSync(path.join(root, 'docs'))) walk('docs');
  return files.sort();
}

/**
 * The fenced code blocks of a Markdown text, in order: { lang, code, line, heading, notRun }. `line`
 * is the 1-based line of the opening fence; `notRun` the reason of a marker before it, or undefined.
 */
function markdownBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading_ = /^#{1,6} (.*)$/.exec(line);
    if (heading_) {
      heading = heading_[1].trim();
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const closing = lines[j].trim();
      if (closing.length >= fence.length && closing === fence[0].repeat(closing.length)) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    if (j === lines.length) throw new Error(`unclosed code fence at line ${i + 1}`);
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const marker = k >= 0 ? NOT_RUN.exec(lines[k].trim()) : null;
    blocks.push({ lang: lang.toLowerCase(), code: body.join('\n'), line: i + 1, heading, notRun: marker?.[1] });
    i = j;
  }
  return blocks;
}

/**
 * The @example blocks of the doc comments of a TypeScript source: { lang, code, line, heading }, where
 * `heading` names the documented member (the first word of the declaration after the comment).
 */
function tsdocBlocks(text) {
  const blocks = [];
  const comment = /\/\*\*([\s\S]*?)\*\//g;
  for (let match; (match = comment.exec(text)); ) {
    const startLine = text.slice(0, match.index).split('\n').length;
    const lines = match[1].split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
    const after = text.slice(comment.lastIndex).trimStart().split('\n')[0];
    const member = /^(?:export\s+)?(?:(?:readonly|static|async|get|set|class|interface|function|const)\s+)*([\w#]+)/.exec(after)?.[1] ?? '?';
    for (let i = 0; i < lines.length; i++) {
      if (!/^@example\b/.test(lines[i].trim())) continue;
      let j = i + 1;
      while (j < lines.length && !/^```/.test(lines[j].trim())) {
        if (/^@\w/.test(lines[j].trim())) throw new Error(`@example without a code fence at line ${startLine + i}`);
        j++;
      }
      if (j === lines.length) throw new Error(`@example without a code fence at line ${startLine + i}`);
      const lang = lines[j].trim().slice(3).trim().toLowerCase();
      const body = [];
      let k = j + 1;
      for (; k < lines.length && lines[k].trim() !== '```'; k++) body.push(lines[k]);
      if (k === lines.length) throw new Error(`unclosed code fence in @example at line ${startLine + j}`);
      blocks.push({ lang, code: body.join('\n'), line: startLine + j, heading: member, notRun: undefined });
      i = k;
    }
  }
  return blocks;
}

/**
 * Groups the runnable blocks of one document into examples: { source, line, heading, files, entry }
 * for those that run, and { source, line, heading, reason } for those marked not-run.
 */
function examplesOf(source, blocks) {
  const examples = [];
  const skipped = [];
  let current; // the example that named blocks are being added to
  for (const block of blocks) {
    if (!RUNNABLE.has(block.lang)) continue;
    const where = { source, line: block.line, heading: block.heading };
    if (block.notRun !== undefined) {
      skipped.push({ ...where, reason: block.notRun });
      current = undefined;
      continue;
    }
    const named = FILE_NAME.exec(block.code.split('\n')[0]);
    if (!named) {
      const name = `main.${block.lang}`;
      examples.push({ ...where, files: { [name]: block.code }, entry: name });
      current = undefined;
      continue;
    }
    const name = named[1];
    if (current === undefined || name in current.files || current.heading !== block.heading) {
      current = { ...where, files: {}, entry: name };
      examples.push(current);
    }
    current.files[name] = block.code;
  }
  return { examples, skipped };
}

/** Every example of the documentation: { examples, skipped }. */
function collect(root = ROOT) {
  const examples = [];
  const skipped = [];
  const add = (source, blocks) => {
    const found = examplesOf(source, blocks);
    examples.push(...found.examples);
    skipped.push(...found.skipped);
  };
  for (const file of markdownFiles(root)) add(file, markdownBlocks(fs.readFileSync(path.join(root, file), 'utf8')));
  // lib/ and its folders (lib/pool/): every module's doc comments.
  const sources = fs.readdirSync(path.join(root, 'lib'), { recursive: true }).map((f) => f.split(path.sep).join('/'));
  for (const file of sources.filter((f) => /\.m?ts$/.test(f)).sort()) {
    add(`lib/${file}`, tsdocBlocks(fs.readFileSync(path.join(root, 'lib', file), 'utf8')));
  }
  return { examples, skipped };
}

module.exports = { collect, markdownFiles, markdownBlocks, tsdocBlocks, examplesOf };
