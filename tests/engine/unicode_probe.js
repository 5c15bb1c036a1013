// Runs Hugging Face `tokenizers` normalizers and pre-tokenizers on every Unicode code point, one
// at a time, and records where the result is not the input itself: the ground truth for the
// Unicode tables airlock uses (categories, normalization, case, whitespace, byte-level
// splitting: pieces per code point). Usage: node unicode_probe.js <probes.json> <out-dir>
// (writes <out-dir>/probe_<name>.json for each probe).
//   probes.json: [{"name", "kind": "normalizer"|"pre_tokenizer", "config": {...}, "wrap": "a|b"}]
// The code points are those unicode_parity_test.cpp checks: all of planes 0-3 and 14-16, and a
// sample of the unassigned planes between.
'use strict';
const path = require('path');
const fs = require('fs');
const t = require(path.join(__dirname, '..', '..', 'node_modules', '@anush008', 'tokenizers'));

// Keep in step with tested() in unicode_parity_test.cpp.
function tested(cp) {
  if (cp >= 0xD800 && cp < 0xE000) return false;
  if (cp >= 0x40000 && cp < 0xE0000) return cp % 251 === 0;
  return true;
}

// Normalizers see code points in runs joined by a delimiter that every normalizer here leaves
// alone, one library call per run instead of one per code point (a million calls through the
// binding dominate otherwise). The delimiter is a starter with no compositions and no case, so
// it cannot combine with its neighbours; a run whose output does not split back into exactly
// one piece per code point, or a piece that holds a delimiter character, is redone one code
// point at a time, so the ground truth never depends on the batching.
const DELIMITER = '#|#';
const RUN = 512;

function normalizeAll(normalizer, differences) {
  const one = (cp) => {
    const s = String.fromCodePoint(cp);
    const r = normalizer.normalizeString(s);
    if (r !== s) differences[cp] = Buffer.from(r, 'utf8').toString('hex');
  };
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    const out = normalizer.normalizeString(run.map(cp => String.fromCodePoint(cp)).join(DELIMITER) + DELIMITER);
    const pieces = out.split(DELIMITER);
    if (pieces.length !== run.length + 1 || pieces[run.length] !== '') {
      run.forEach(one);
    } else {
      run.forEach((cp, i) => {
        const s = String.fromCodePoint(cp);
        if (pieces[i].includes('#') || pieces[i].includes('|')) {
          one(cp);
        } else if (pieces[i] !== s) {
          differences[cp] = Buffer.from(pieces[i], 'utf8').toString('hex');
        }
      });
    }
    run = [];
  };
  for (let cp = 0; cp < 0x110000; cp++) {
    if (!tested(cp)) continue;
    run.push(cp);
    if (run.length === RUN) flush();
  }
  flush();
}

// Pre-tokenizers likewise see runs of `before + c + after` joined by a separator that splits
// there (a space; a digit for Digits, which keeps spaces): each piece's offsets (in code points)
// say which unit it came from. A piece that reaches into two units means the separator did not
// separate, and the run is redone one unit at a time.
function splitAll(preTokenizer, before, after, separator, counts) {
  const one = (cp) => Math.min(9, preTokenizer.preTokenizeString(before + String.fromCodePoint(cp) + after).length);
  const width = [...before].length + 1 + [...after].length;
  const step = width + [...separator].length;
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    const text = run.map(cp => before + String.fromCodePoint(cp) + after).join(separator);
    const found = new Array(run.length).fill(0);
    let ok = true;
    for (const [, [start, end]] of preTokenizer.preTokenizeString(text)) {
      // Units begin at k * step; the separator follows each one.
      let unit = -1;
      for (let i = start; i < end && ok; i++) {
        const k = Math.floor(i / step);
        if (i - k * step >= width) continue;  // a separator character
        if (unit !== -1 && unit !== k) ok = false;
        unit = k;
      }
      if (!ok) break;
      if (unit !== -1) found[unit]++;
    }
    run.forEach((cp, i) => { counts[cp] = String(ok ? Math.min(9, found[i]) : one(cp)); });
    run = [];
  };
  for (let cp = 0; cp < 0x110000; cp++) {
    if (!tested(cp)) continue;
    run.push(cp);
    if (run.length === RUN) flush();
  }
  flush();
}

const [probesPath, outDir] = process.argv.slice(2);
const probes = JSON.parse(fs.readFileSync(probesPath, 'utf8'));
for (const probe of probes) {
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: [], decoder: null, post_processor: null,
    normalizer: probe.kind === 'normalizer' ? probe.config : null,
    pre_tokenizer: probe.kind === 'pre_tokenizer' ? probe.config : null,
    model: { type: 'WordLevel', vocab: { x: 0 }, unk_token: 'x' },
  };
  const tokenizer = t.Tokenizer.fromString(JSON.stringify(json));
  if (probe.kind === 'normalizer') {
    const differences = {};
    normalizeAll(tokenizer.getNormalizer(), differences);
    fs.writeFileSync(path.join(outDir, `probe_${probe.name}.json`), JSON.stringify(differences));
  } else {
    // How many pieces `before + c + after` splits into, one digit per code point (0 for the
    // surrogates, which cannot occur in text, and for the code points not tested).
    const p = tokenizer.getPreTokenizer();
    const [before, after] = probe.wrap.split('|');
    const counts = new Array(0x110000).fill('0');
    splitAll(p, before, after, probe.config.type === 'Digits' ? '0' : ' ', counts);
    fs.writeFileSync(path.join(outDir, `probe_${probe.name}.json`), JSON.stringify(counts.join('')));
  }
}
