// The judge for airlock's tokenizers: Hugging Face `tokenizers` (its Rust library through the
// npm binding @anush008/tokenizers). Two commands, used by make_tiny_models.py:
//   node tokenizers_tool.js train <WordPiece|BPE|Unigram> <corpus.txt> <out.json>
//       trains a model with the library's default trainer (pre-tokenizer chosen to match) and saves it
//   node tokenizers_tool.js encode <job.json> <out.json> [<job.json> <out.json> ...]
//       job: {"tokenizer": path, "inputs": [hex | [hex, hex]], "truncation": {...}|null,
//             "padding": {...}|null, "add_special_tokens": bool}; strings are hex-encoded UTF-8
//       bytes (invalid sequences are decoded with U+FFFD, as airlock does). Each result is
//       ["ids", "type ids", "attention mask"] (space-separated) or {"error": message}.
'use strict';
const path = require('path');
const fs = require('fs');
const t = require(path.join(__dirname, '..', '..', 'node_modules', '@anush008', 'tokenizers'));

function decodeHex(hex) {
  return Buffer.from(hex, 'hex').toString('utf8');
}

async function train(kind, corpus, out) {
  let tokenizer;
  if (kind === 'WordPiece') {
    tokenizer = new t.Tokenizer(t.WordPiece.empty());
    tokenizer.setNormalizer(t.bertNormalizer({}));
    tokenizer.setPreTokenizer(t.bertPreTokenizer());
  } else if (kind === 'BPE') {
    tokenizer = new t.Tokenizer(t.BPE.empty());
    tokenizer.setPreTokenizer(t.byteLevelPreTokenizer(false, true));
  } else if (kind === 'Unigram') {
    tokenizer = new t.Tokenizer(t.Unigram.empty());
    tokenizer.setNormalizer(t.nfkcNormalizer());
    tokenizer.setPreTokenizer(t.metaspacePreTokenizer());
  } else {
    throw new Error('unknown model kind ' + kind);
  }
  tokenizer.train([corpus]);
  tokenizer.save(out, false);
}

async function encode(jobPath, out) {
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  const tokenizer = t.Tokenizer.fromFile(job.tokenizer);
  if (job.truncation) {
    tokenizer.setTruncation(job.truncation.max_length, {
      strategy: job.truncation.strategy, direction: job.truncation.direction.toLowerCase(),
    });
  }
  if (job.padding) tokenizer.setPadding({ ...job.padding, direction: job.padding.direction.toLowerCase() });
  const addSpecial = job.add_special_tokens !== false;
  const results = [];
  const batch = 500;
  for (let i = 0; i < job.inputs.length; i += batch) {
    const chunk = job.inputs.slice(i, i + batch).map(x => Array.isArray(x) ? [decodeHex(x[0]), decodeHex(x[1])] : decodeHex(x));
    let encodings;
    try {
      encodings = await tokenizer.encodeBatch(chunk, { addSpecialTokens: addSpecial });
    } catch (e) {
      // One bad input fails the whole batch: redo it one by one to find which.
      encodings = [];
      for (const input of chunk) {
        try {
          encodings.push(Array.isArray(input) ? await tokenizer.encode(input[0], input[1], { addSpecialTokens: addSpecial })
                                              : await tokenizer.encode(input, null, { addSpecialTokens: addSpecial }));
        } catch (err) {
          encodings.push({ error: String(err.message || err) });
        }
      }
    }
    for (const e of encodings) {
      if (e.error) {
        results.push({ error: e.error });
      } else {
        // Compact: three space-separated lists, so that the C++ side parses them quickly.
        results.push([e.getIds().join(' '), e.getTypeIds().join(' '), e.getAttentionMask().join(' ')]);
      }
    }
  }
  fs.writeFileSync(out, JSON.stringify({ results }));
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'train') return train(args[0], args[1], args[2]);
  if (command === 'encode') {
    // Several jobs per process: starting node and loading the library costs more than a job.
    if (args.length === 0 || args.length % 2 !== 0) throw new Error('encode takes pairs of <job.json> <out.json>');
    for (let i = 0; i < args.length; i += 2) await encode(args[i], args[i + 1]);
    return;
  }
  throw new Error('usage: tokenizers_tool.js train|encode ...');
}

main().catch(e => { console.error('tokenizers_tool:', e.message || e); process.exit(1); });
