// Runs Hugging Face `tokenizers` normalizers and pre-tokenizers on every Unicode code point, one
// at a time, and records where the result is not the input itself: the ground truth for the
// Unicode tables airlock uses (categories, normalization, case, whitespace, byte-level
// splitting: pieces per code point). Usage: node unicode_probe.js <probes.json> <out-dir>
// (writes <out-dir>/probe_<name>.json for each probe).
//   probes.json: [{"name", "kind": "normalizer"|"pre_tokenizer", "config": {...}, "wrap": "a|b"}]
'use strict';
const path = require('path');
const fs = require('fs');
const t = require(path.join(__dirname, '..', '..', 'node_modules', '@anush008', 'tokenizers'));

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
  const differences = {};
  if (probe.kind === 'normalizer') {
    const n = tokenizer.getNormalizer();
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xD800 && cp < 0xE000) continue;
      const s = String.fromCodePoint(cp);
      const r = n.normalizeString(s);
      if (r !== s) differences[cp] = Buffer.from(r, 'utf8').toString('hex');
    }
  } else {
    // How many pieces `before + c + after` splits into, one digit per code point (0 for the
    // surrogates, which cannot occur in text).
    const p = tokenizer.getPreTokenizer();
    const [before, after] = probe.wrap.split('|');
    const counts = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xD800 && cp < 0xE000) {
        counts.push('0');
        continue;
      }
      counts.push(String(Math.min(9, p.preTokenizeString(before + String.fromCodePoint(cp) + after).length)));
    }
    fs.writeFileSync(path.join(outDir, `probe_${probe.name}.json`), JSON.stringify(counts.join('')));
    continue;
  }
  fs.writeFileSync(path.join(outDir, `probe_${probe.name}.json`), JSON.stringify(differences));
}
