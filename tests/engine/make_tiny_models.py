#!/usr/bin/python3
"""Generates everything the engine's parity tests compare against, into OUT:

  tokenizers/<name>/      tokenizer.json files trained by Hugging Face `tokenizers` itself (npm
                          @anush008/tokenizers) on generated text, then laid out the way real
                          repositories are (BERT, RoBERTa, XLM-R special tokens and templates);
                          xlmr_unigram comes from a SentencePiece model trained with Debian's
                          spm_train (a real Precompiled charsmap); bert_vocab_only has only vocab.txt
  strings.json            the test strings (hex-encoded bytes; some are invalid UTF-8)
  expected/<case>.json    ids, type ids and attention masks from `tokenizers` for every case
  models/<name>/          tiny random BERT and XLM-R checkpoints (safetensors + config +
                          tokenizer.json + sentence-transformers files; embedding and
                          cross-encoder heads) with reference.json: outputs of reference_forward.py
                          (PyTorch, mirroring transformers' modeling code)
  manifest.json           what the tests should run

Run with Debian's python (/usr/bin/python3: torch, numpy): make_tiny_models.py OUT [--strings N]
[--tokenizers-only]."""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import text_corpus  # noqa: E402

NODE_TOOL = os.path.join(HERE, 'tokenizers_tool.js')


def node(*args):
    subprocess.run(['node', NODE_TOOL, *args], check=True)


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(value, f, ensure_ascii=False)


def read_json(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def template(single, pair, specials):
    def piece(p):
        if p in ('A', 'B'):
            return {'Sequence': {'id': p, 'type_id': 1 if p == 'B' and specials.get('__bert__') else 0}}
        name, type_id = p
        return {'SpecialToken': {'id': name, 'type_id': type_id}}
    table = {k: {'id': k, 'ids': [v], 'tokens': [k]} for k, v in specials.items() if not k.startswith('__')}
    return {'type': 'TemplateProcessing', 'single': [piece(p) for p in single], 'pair': [piece(p) for p in pair],
            'special_tokens': table}


def added(content, id_, special=True, normalized=False, lstrip=False):
    return {'id': id_, 'content': content, 'single_word': False, 'lstrip': lstrip, 'rstrip': False,
            'normalized': normalized, 'special': special}


def base_json():
    return {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': [], 'normalizer': None,
            'pre_tokenizer': None, 'post_processor': None, 'decoder': None, 'model': None}


# ---- tokenizers -------------------------------------------------------------------------------

def bert_tokenizer(trained, lowercase, old_style):
    """A BERT layout: [PAD] 0, [unused*], [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, then the
    trained vocabulary."""
    specials = ['[PAD]'] + [f'[unused{i}]' for i in range(99)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]']
    vocab = {tok: i for i, tok in enumerate(specials)}
    for tok, _ in sorted(trained['model']['vocab'].items(), key=lambda kv: kv[1]):
        vocab.setdefault(tok, len(vocab))
    j = base_json()
    j['added_tokens'] = [added(t, vocab[t]) for t in ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']]
    j['normalizer'] = {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True,
                       'strip_accents': None if lowercase else False, 'lowercase': lowercase}
    j['pre_tokenizer'] = {'type': 'BertPreTokenizer'}
    if old_style:
        j['post_processor'] = {'type': 'BertProcessing', 'sep': ['[SEP]', 102], 'cls': ['[CLS]', 101]}
    else:
        j['post_processor'] = template([('[CLS]', 0), 'A', ('[SEP]', 0)],
                                       [('[CLS]', 0), 'A', ('[SEP]', 0), 'B', ('[SEP]', 1)],
                                       {'[CLS]': 101, '[SEP]': 102, '__bert__': True})
    j['decoder'] = {'type': 'WordPiece', 'prefix': '##', 'cleanup': True}
    j['model'] = {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                  'max_input_chars_per_word': 100, 'vocab': vocab}
    return j


def byte_level_alphabet():
    table, n = [], 0
    for b in range(256):
        if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF:
            table.append(chr(b))
        else:
            table.append(chr(256 + n))
            n += 1
    return table


def roberta_tokenizer(trained):
    vocab = {'<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3}
    for ch in byte_level_alphabet():
        vocab.setdefault(ch, len(vocab))
    for tok, _ in sorted(trained['model']['vocab'].items(), key=lambda kv: kv[1]):
        vocab.setdefault(tok, len(vocab))
    vocab['<mask>'] = len(vocab)
    j = base_json()
    j['added_tokens'] = [added('<s>', 0, normalized=True), added('<pad>', 1, normalized=True),
                         added('</s>', 2, normalized=True), added('<unk>', 3, normalized=True),
                         added('<mask>', vocab['<mask>'], lstrip=True)]
    j['pre_tokenizer'] = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    j['post_processor'] = {'type': 'RobertaProcessing', 'sep': ['</s>', 2], 'cls': ['<s>', 0], 'trim_offsets': True,
                           'add_prefix_space': False}
    j['decoder'] = {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}
    model = dict(trained['model'])
    model['vocab'] = vocab
    model['unk_token'] = None
    j['model'] = model
    return j


def xlmr_template(mask_id):
    return template([('<s>', 0), 'A', ('</s>', 0)], [('<s>', 0), 'A', ('</s>', 0), ('</s>', 0), 'B', ('</s>', 0)],
                    {'<s>': 0, '</s>': 2})


def xlmr_added(mask_id):
    return [added('<s>', 0), added('<pad>', 1), added('</s>', 2), added('<unk>', 3), added('<mask>', mask_id, lstrip=True)]


def read_varint(data, pos):
    result, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def protobuf_fields(data):
    """(field number, wire type, value) of one protobuf message; enough for SentencePiece's ModelProto."""
    import struct
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 1:
            value = data[pos:pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = read_varint(data, pos)
            value = data[pos:pos + length]
            pos += length
        elif wire == 5:
            value = struct.unpack('<f', data[pos:pos + 4])[0]
            pos += 4
        else:
            raise ValueError(f'unsupported protobuf wire type {wire}')
        yield field, wire, value


def sentencepiece_model(path):
    with open(path, 'rb') as f:
        data = f.read()
    pieces, charsmap = [], b''
    for field, _, value in protobuf_fields(data):
        if field == 1:
            piece, score, kind = '', 0.0, 1
            for f2, _, v2 in protobuf_fields(value):
                if f2 == 1:
                    piece = v2.decode('utf-8')
                elif f2 == 2:
                    score = v2
                elif f2 == 3:
                    kind = v2
            pieces.append((piece, score, kind))
        elif field == 3:
            for f2, _, v2 in protobuf_fields(value):
                if f2 == 2:
                    charsmap = v2
    return pieces, charsmap


def xlmr_tokenizer(spm_model, legacy_pre_tokenizer):
    pieces, charsmap = sentencepiece_model(spm_model)
    assert pieces[0][0] == '<unk>' and pieces[1][0] == '<s>' and pieces[2][0] == '</s>', pieces[:3]
    vocab = [['<s>', 0.0], ['<pad>', 0.0], ['</s>', 0.0], ['<unk>', 0.0]]
    vocab += [[p, s] for p, s, _ in pieces[3:]]
    vocab.append(['<mask>', 0.0])
    j = base_json()
    j['added_tokens'] = xlmr_added(len(vocab) - 1)
    j['normalizer'] = {'type': 'Sequence', 'normalizers': [
        {'type': 'Precompiled', 'precompiled_charsmap': base64.b64encode(charsmap).decode()},
        {'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': ' '}]}
    metaspace = {'type': 'Metaspace', 'replacement': '▁', 'add_prefix_space': True}
    if legacy_pre_tokenizer:
        j['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [{'type': 'WhitespaceSplit'}, metaspace]}
    else:
        j['pre_tokenizer'] = metaspace
    j['post_processor'] = xlmr_template(len(vocab) - 1)
    j['decoder'] = {'type': 'Metaspace', 'replacement': '▁', 'add_prefix_space': True}
    j['model'] = {'type': 'Unigram', 'unk_id': 3, 'vocab': vocab}
    return j


def unigram_nfkc_tokenizer(trained):
    vocab = [['<s>', 0.0], ['<pad>', 0.0], ['</s>', 0.0], ['<unk>', 0.0]]
    vocab += [v for v in trained['model']['vocab'] if v[0] not in ('<s>', '<pad>', '</s>', '<unk>')]
    vocab.append(['<mask>', 0.0])
    j = base_json()
    j['added_tokens'] = xlmr_added(len(vocab) - 1)
    j['normalizer'] = {'type': 'Sequence', 'normalizers': [{'type': 'NFKC'}, {'type': 'Lowercase'},
                                                            {'type': 'Replace', 'pattern': {'String': '``'}, 'content': '"'}]}
    j['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '▁', 'add_prefix_space': True}
    j['post_processor'] = xlmr_template(len(vocab) - 1)
    j['model'] = {'type': 'Unigram', 'unk_id': 3, 'vocab': vocab}
    return j


def make_tokenizers(out, train_path):
    work = os.path.join(out, 'work')
    os.makedirs(work, exist_ok=True)
    trained = {}
    for kind in ['WordPiece', 'BPE', 'Unigram']:
        path = os.path.join(work, f'trained_{kind}.json')
        node('train', kind, train_path, path)
        trained[kind] = read_json(path)
    spm_prefix = os.path.join(work, 'spm')
    subprocess.run(['spm_train', f'--input={train_path}', f'--model_prefix={spm_prefix}', '--vocab_size=3000',
                    '--model_type=unigram', '--character_coverage=0.9995', '--hard_vocab_limit=false',
                    '--minloglevel=2'], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tokenizers = {
        'bert_uncased': bert_tokenizer(trained['WordPiece'], True, False),
        'bert_cased': bert_tokenizer(trained['WordPiece'], False, True),
        'roberta_bpe': roberta_tokenizer(trained['BPE']),
        'xlmr_unigram': xlmr_tokenizer(spm_prefix + '.model', False),
        'xlmr_legacy': xlmr_tokenizer(spm_prefix + '.model', True),
        'unigram_nfkc': unigram_nfkc_tokenizer(trained['Unigram']),
    }
    for name, j in tokenizers.items():
        write_json(os.path.join(out, 'tokenizers', name, 'tokenizer.json'), j)
    # A repository with only vocab.txt (+ tokenizer_config.json): must behave like bert_uncased.
    vocab_dir = os.path.join(out, 'tokenizers', 'bert_vocab_only')
    os.makedirs(vocab_dir, exist_ok=True)
    vocab = tokenizers['bert_uncased']['model']['vocab']
    with open(os.path.join(vocab_dir, 'vocab.txt'), 'w', encoding='utf-8') as f:
        for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
            f.write(tok + '\n')
    write_json(os.path.join(vocab_dir, 'tokenizer_config.json'), {'do_lower_case': True, 'model_max_length': 512})
    write_json(os.path.join(vocab_dir, 'special_tokens_map.json'),
               {'unk_token': '[UNK]', 'sep_token': '[SEP]', 'pad_token': '[PAD]', 'cls_token': '[CLS]',
                'mask_token': '[MASK]'})
    return tokenizers


def tokenizer_cases(out, strings, n_pairs):
    """Runs the judge on every case and returns the manifest entries."""
    import random
    rng = random.Random(7)
    hexes = [s.hex() for s in strings]
    pairs = [[rng.choice(hexes), rng.choice(hexes)] for _ in range(n_pairs)]
    write_json(os.path.join(out, 'strings.json'), hexes)
    write_json(os.path.join(out, 'pairs.json'), pairs)
    cases = []
    plan = []
    for name in ['bert_uncased', 'bert_cased', 'roberta_bpe', 'xlmr_unigram', 'xlmr_legacy', 'unigram_nfkc']:
        plan.append((name, 'single', 'strings', None, None, True))
        plan.append((name, 'pairs_longest_first', 'pairs', {'max_length': 24, 'strategy': 'LongestFirst', 'direction': 'Right'}, None, True))
    plan += [
        ('bert_uncased', 'no_special', 'strings', None, None, False),
        ('bert_uncased', 'truncate_left', 'strings', {'max_length': 10, 'strategy': 'LongestFirst', 'direction': 'Left'}, None, True),
        ('bert_uncased', 'pairs_only_second', 'pairs', {'max_length': 40, 'strategy': 'OnlySecond', 'direction': 'Right'}, None, True),
        ('bert_uncased', 'pairs_odd_length', 'pairs', {'max_length': 17, 'strategy': 'LongestFirst', 'direction': 'Right'}, None, True),
        ('bert_cased', 'pad_fixed', 'strings', {'max_length': 32, 'strategy': 'LongestFirst', 'direction': 'Right'},
         {'maxLength': 32, 'direction': 'Right', 'padId': 0, 'padTypeId': 0, 'padToken': '[PAD]'}, True),
        ('xlmr_unigram', 'pairs_left', 'pairs', {'max_length': 21, 'strategy': 'LongestFirst', 'direction': 'Left'}, None, True),
        ('xlmr_unigram', 'pad_left', 'strings', {'max_length': 16, 'strategy': 'LongestFirst', 'direction': 'Right'},
         {'maxLength': 16, 'direction': 'Left', 'padId': 1, 'padTypeId': 0, 'padToken': '<pad>'}, True),
        ('roberta_bpe', 'pairs_no_special', 'pairs', None, None, False),
        ('bert_vocab_only', 'single', 'strings', None, None, True),
    ]
    # The option variants run on the first 2,000 strings; every tokenizer sees all of them once.
    write_json(os.path.join(out, 'strings_2000.json'), hexes[:2000])
    jobs = []
    for name, label, inputs, truncation, padding, special in plan:
        judge_name = 'bert_uncased' if name == 'bert_vocab_only' else name
        if inputs == 'strings' and label != 'single':
            inputs = 'strings_2000'
        job = {'tokenizer': os.path.join(out, 'tokenizers', judge_name, 'tokenizer.json'),
               'inputs': {'strings': hexes, 'strings_2000': hexes[:2000], 'pairs': pairs}[inputs], 'truncation': truncation,
               'padding': padding, 'add_special_tokens': special}
        job_path = os.path.join(out, 'work', f'job_{name}_{label}.json')
        expected = os.path.join(out, 'expected', f'{name}__{label}.json')
        write_json(job_path, job)
        os.makedirs(os.path.dirname(expected), exist_ok=True)
        jobs += [job_path, expected]
        cases.append({'name': f'{name}/{label}', 'tokenizer_dir': os.path.join(out, 'tokenizers', name),
                      'inputs': inputs, 'truncation': truncation,
                      'padding': None if padding is None else {
                          'max_length': padding['maxLength'], 'direction': padding['direction'],
                          'pad_id': padding['padId'], 'pad_type_id': padding['padTypeId'], 'pad_token': padding['padToken']},
                      'add_special_tokens': special, 'expected': expected})
    node('encode', *jobs)
    return cases


def unicode_probes(out, tokenizers):
    """Every code point through the library's normalizers and pre-tokenizers (unicode_probe.js)."""
    charsmap = tokenizers['xlmr_unigram']['normalizer']['normalizers'][0]
    probes = [
        {'name': 'bert_clean', 'kind': 'normalizer', 'config': {'type': 'BertNormalizer', 'clean_text': True,
         'handle_chinese_chars': False, 'strip_accents': False, 'lowercase': False}},
        {'name': 'bert_uncased', 'kind': 'normalizer', 'config': {'type': 'BertNormalizer', 'clean_text': True,
         'handle_chinese_chars': True, 'strip_accents': None, 'lowercase': True}},
        {'name': 'bert_strip_accents', 'kind': 'normalizer', 'config': {'type': 'BertNormalizer', 'clean_text': False,
         'handle_chinese_chars': False, 'strip_accents': True, 'lowercase': False}},
        {'name': 'nfd', 'kind': 'normalizer', 'config': {'type': 'NFD'}},
        {'name': 'nfkd', 'kind': 'normalizer', 'config': {'type': 'NFKD'}},
        {'name': 'nfc', 'kind': 'normalizer', 'config': {'type': 'NFC'}},
        {'name': 'nfkc', 'kind': 'normalizer', 'config': {'type': 'NFKC'}},
        {'name': 'lowercase', 'kind': 'normalizer', 'config': {'type': 'Lowercase'}},
        {'name': 'strip_accents', 'kind': 'normalizer', 'config': {'type': 'StripAccents'}},
        {'name': 'precompiled', 'kind': 'normalizer', 'config': charsmap},
        {'name': 'bert_pre', 'kind': 'pre_tokenizer', 'config': {'type': 'BertPreTokenizer'}, 'wrap': 'a|b'},
        {'name': 'byte_level', 'kind': 'pre_tokenizer', 'config': {'type': 'ByteLevel', 'add_prefix_space': False,
         'trim_offsets': True, 'use_regex': True}, 'wrap': 'a|1'},
        {'name': 'whitespace', 'kind': 'pre_tokenizer', 'config': {'type': 'Whitespace'}, 'wrap': 'a|b'},
        {'name': 'digits', 'kind': 'pre_tokenizer', 'config': {'type': 'Digits', 'individual_digits': True}, 'wrap': 'a|b'},
    ]
    probes_path = os.path.join(out, 'work', 'unicode_probes.json')
    write_json(probes_path, probes)
    # Runs beside the tokenizer cases and the models (the caller waits for it).
    process = subprocess.Popen(['node', os.path.join(HERE, 'unicode_probe.js'), probes_path, out])
    return process, [{'name': p['name'], 'kind': p['kind'], 'config': p['config'], 'wrap': p.get('wrap', '')} for p in probes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out')
    parser.add_argument('--strings', type=int, default=10000)
    parser.add_argument('--pairs', type=int, default=2000)
    parser.add_argument('--tokenizers-only', action='store_true')
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, 'work'))
    train_path = os.path.join(out, 'work', 'train.txt')
    with open(train_path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(text_corpus.training_lines(1, 3000)) + '\n')
    tokenizers = make_tokenizers(out, train_path)
    strings = text_corpus.test_strings(2, args.strings)
    probing, probes = unicode_probes(out, tokenizers)
    try:
        manifest = {'tokenizer_cases': tokenizer_cases(out, strings, args.pairs), 'model_cases': [],
                    'unicode_probes': probes}
        if not args.tokenizers_only:
            import reference_models
            manifest['model_cases'] = reference_models.make_models(out, tokenizers, node)
    except BaseException:
        probing.kill()
        raise
    if probing.wait() != 0:
        sys.exit(f'unicode_probe.js failed ({probing.returncode})')
    write_json(os.path.join(out, 'manifest.json'), manifest)


if __name__ == '__main__':
    main()
