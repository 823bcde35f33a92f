// Tokenises every .seq file under the examples folder with the TextMate
// grammar (vscode-textmate + vscode-oniguruma, as VS Code does) and checks,
// against a small independent lexer, that keywords, built-in layers,
// numbers, strings and comments get their scopes. Also checks a fixed
// snippet token by token.
//
//   node test/tokenize.test.js [EXAMPLES_DIR]   (default: ../../examples)
// Exit 0 when every check passes, 1 otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const here = __dirname;
const grammarPath = path.join(here, '..', 'syntaxes', 'seq.tmLanguage.json');
const examplesDir = path.resolve(process.argv[2] || path.join(here, '..', '..', '..', 'examples'));

const KEYWORDS = new Set(['model', 'module', 'forward', 'return', 'for', 'in', 'if', 'else', 'and',
  'or', 'not', 'is', 'def']);
const CONSTANTS = new Set(['true', 'false', 'True', 'False', 'None']);
const CONTAINERS = new Set(['Sequential', 'ModuleList', 'ModuleDict', 'OrderedDict', 'SequentialCell',
  'CellList', 'CellDict']);

// What each category's tokens must carry (a scope starting with one of these).
const EXPECTED = {
  keyword: ['keyword.', 'storage.type'],
  constant: ['constant.language'],
  layer: ['support.class.layer'],
  number: ['constant.numeric'],
  string: ['string.'],
  comment: ['comment.line'],
};

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.seq') return null;
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  return registry.loadGrammar('source.seq');
}

// The independent lexer: [{category, start, end, text}] for one line, where
// `userNames` are the models, modules and helpers the file defines.
function lexLine(line, userNames) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '#') {
      out.push({ category: 'comment', start: i, end: line.length });
      break;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += line[j] === '\\' ? 2 : 1;
      out.push({ category: 'string', start: i, end: Math.min(j + 1, line.length) });
      i = j + 1;
      continue;
    }
    let m = /^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?/.exec(line.slice(i));
    if (m && !/[A-Za-z0-9_]/.test(line[i - 1] || '')) {
      out.push({ category: 'number', start: i, end: i + m[0].length });
      i += m[0].length;
      continue;
    }
    m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i));
    if (m) {
      const word = m[0];
      const after = line.slice(i + word.length);
      const attribute = line[i - 1] === '.' && !/(^|[^A-Za-z0-9_])(nn|torch|F)\.$/.test(line.slice(0, i));
      let category = null;
      if (!attribute && KEYWORDS.has(word)) category = 'keyword';
      else if (!attribute && CONSTANTS.has(word)) category = 'constant';
      else if (!attribute && /^[A-Z]/.test(word) && /^\s*\(/.test(after) && !CONTAINERS.has(word) && !userNames.has(word))
        category = 'layer';
      if (category) out.push({ category, start: i, end: i + word.length, text: word });
      i += word.length;
      continue;
    }
    i += 1;
  }
  return out;
}

function userNamesOf(text) {
  const names = new Set();
  for (const m of text.matchAll(/\b(?:model|module|def)\s+([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]);
  return names;
}

// The scopes of the character at `offset` in a tokenised line.
function scopesAt(tokens, offset) {
  for (const t of tokens) if (t.startIndex <= offset && offset < t.endIndex) return t.scopes;
  return [];
}

function tokenizeFile(grammar, text) {
  let state = vsctm.INITIAL;
  return text.split(/\r?\n/).map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return { line, tokens: r.tokens };
  });
}

function listSeqFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSeqFiles(p));
    else if (entry.name.endsWith('.seq')) out.push(p);
  }
  return out.sort();
}

function checkExamples(grammar, report) {
  const files = listSeqFiles(examplesDir);
  if (files.length === 0) report.fail(`no .seq files under ${examplesDir}`);
  const seen = Object.fromEntries(Object.keys(EXPECTED).map((k) => [k, 0]));
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const userNames = userNamesOf(text);
    let problems = 0;
    tokenizeFile(grammar, text).forEach(({ line, tokens }, n) => {
      for (const tok of lexLine(line, userNames)) {
        seen[tok.category] += 1;
        // Every character of the token carries the scope.
        for (let k = tok.start; k < tok.end; ++k) {
          const scopes = scopesAt(tokens, k);
          if (!scopes.some((s) => EXPECTED[tok.category].some((e) => s.startsWith(e)))) {
            if (problems++ < 5)
              report.fail(`${path.relative(examplesDir, file)}:${n + 1}:${k + 1}: ` +
                `${tok.category} '${line.slice(tok.start, tok.end)}' has scopes ${scopes.join(' ')}`);
            break;
          }
        }
      }
    });
    if (problems === 0) report.pass();
  }
  for (const [category, count] of Object.entries(seen))
    if (category !== 'constant' && count === 0) report.fail(`no ${category} token in any example`);
  console.log(`checked ${files.length} files: ` +
    Object.entries(seen).map(([k, v]) => `${v} ${k}s`).join(', '));
}

// A fixed snippet, scope by scope.
function checkSnippet(grammar, report) {
  const snippet = [
    'module Block(c: int, stride: int = 1) {  # a block',
    '    body = nn.Sequential(Conv2d(c, c, 3, padding=1), BatchNorm2d(c, eps=1e-5), ReLU(inplace=true))',
    "    pad = ZeroPad2d(1); mode = 'zeros'; name = \"same\"",
    '    forward(x) { if c > 1 { x = F.relu(body(x) + x) }; return x * 0.5 }',
    '}',
  ].join('\n');
  const lines = tokenizeFile(grammar, snippet);
  const expect = [
    [0, 'module', 'storage.type'], [0, 'Block', 'entity.name.type'], [0, 'int', 'support.type'],
    [0, '1', 'constant.numeric.integer'], [0, '# a block', 'comment.line.number-sign'],
    [1, 'Sequential', 'support.class.container'], [1, 'Conv2d', 'support.class.layer'],
    [1, 'BatchNorm2d', 'support.class.layer'], [1, '1e-5', 'constant.numeric.float'],
    [1, 'true', 'constant.language'], [2, 'ZeroPad2d', 'support.class.layer'],
    [2, "'zeros'", 'string.quoted.single'], [2, '"same"', 'string.quoted.double'],
    [3, 'forward', 'storage.type'], [3, 'if', 'keyword.control'], [3, 'relu', 'support.function'],
    [3, 'return', 'keyword.control'], [3, '0.5', 'constant.numeric.float'],
  ];
  for (const [n, text, scope] of expect) {
    const { line, tokens } = lines[n];
    const at = line.indexOf(text);
    const scopes = scopesAt(tokens, at);
    if (at < 0 || !scopes.some((s) => s.startsWith(scope)))
      report.fail(`snippet line ${n + 1}: '${text}' should have ${scope}, has ${scopes.join(' ')}`);
    else report.pass();
  }
}

async function main() {
  const report = {
    passed: 0, failed: 0,
    pass() { this.passed += 1; },
    fail(message) { this.failed += 1; console.log(`FAIL ${message}`); },
  };
  const grammar = await loadGrammar();
  checkSnippet(grammar, report);
  checkExamples(grammar, report);
  console.log(`${report.passed} passed, ${report.failed} failed`);
  process.exit(report.failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
