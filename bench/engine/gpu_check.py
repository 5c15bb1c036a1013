#!/usr/bin/python3
"""GPU check for the CUDA backend (run by bench/gpu-check.sh).

Correctness: random models of real shapes (bge-small, BERT-base, e5-large, xlm-roberta-base)
through `airlock embed` on CPU (fp32) and CUDA (fp32, fp16, bf16), against the PyTorch reference
forward of tests/engine/reference_models.py (which mirrors transformers' modeling code), and,
when they are installed, against Hugging Face transformers (AutoModel) and sentence-transformers
(SentenceTransformer.encode) themselves on the same directory (then the models are made with
transformers' own random initialisation and save_pretrained). Goals: fp32 max abs error <= 1e-4,
16-bit cosine >= 0.999.

Speed: airlock CUDA (engine_bench) against PyTorch CUDA on the same weights, alternating, at
batch 32 x 128 (throughput) and 1 x 16 / 1 x 128 (latency); the PyTorch side is transformers'
BertModel/XLMRobertaModel when installed (its default attention), else the reference forward.

Prints a Markdown report; exits 1 when a correctness goal is missed.

  python3 bench/engine/gpu_check.py --airlock BUILD/src/cli/airlock --bench BUILD/bench/engine/engine_bench
  (--no-gpu: CPU rows only, to try the script on a machine without a GPU)"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'engine'))
from reference_models import encoder_forward, save_safetensors  # noqa: E402

SHAPES = {
    'bge-small': dict(L=12, d=384, h=12, ff=1536, roberta=False, vocab=30522),
    'bert-base': dict(L=12, d=768, h=12, ff=3072, roberta=False, vocab=30522),
    'e5-large': dict(L=24, d=1024, h=16, ff=4096, roberta=False, vocab=30522),
    'xlm-roberta-base': dict(L=12, d=768, h=12, ff=3072, roberta=True, vocab=250002),
}
WORDS = 30522  # the benchmark tokenizer's vocabulary: "w<id>" is one token


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def config_for(key):
    s = SHAPES[key]
    roberta = s['roberta']
    return {'architectures': ['XLMRobertaModel' if roberta else 'BertModel'],
            'model_type': 'xlm-roberta' if roberta else 'bert', 'vocab_size': s['vocab'], 'hidden_size': s['d'],
            'num_hidden_layers': s['L'], 'num_attention_heads': s['h'], 'intermediate_size': s['ff'],
            'hidden_act': 'gelu', 'max_position_embeddings': 514 if roberta else 512,
            'type_vocab_size': 1 if roberta else 2, 'layer_norm_eps': 1e-5 if roberta else 1e-12,
            'pad_token_id': 1 if roberta else 0, 'bos_token_id': 0, 'eos_token_id': 2,
            'position_embedding_type': 'absolute', 'hidden_dropout_prob': 0.0, 'attention_probs_dropout_prob': 0.0,
            'initializer_range': 0.02}


def our_weights(cfg):
    """Random weights of real scale, for machines without transformers."""
    gen = torch.Generator().manual_seed(3)
    d, ff, L = cfg['hidden_size'], cfg['intermediate_size'], cfg['num_hidden_layers']
    W = {'embeddings.word_embeddings.weight': torch.randn(cfg['vocab_size'], d, generator=gen) * 0.05,
         'embeddings.position_embeddings.weight': torch.randn(cfg['max_position_embeddings'], d, generator=gen) * 0.05,
         'embeddings.token_type_embeddings.weight': torch.randn(cfg['type_vocab_size'], d, generator=gen) * 0.05,
         'embeddings.LayerNorm.weight': 1 + 0.1 * torch.randn(d, generator=gen),
         'embeddings.LayerNorm.bias': 0.1 * torch.randn(d, generator=gen)}
    for i in range(L):
        p = f'encoder.layer.{i}.'
        for name, (o, n) in {'attention.self.query': (d, d), 'attention.self.key': (d, d), 'attention.self.value': (d, d),
                             'attention.output.dense': (d, d), 'intermediate.dense': (ff, d), 'output.dense': (d, ff)}.items():
            W[p + name + '.weight'] = torch.randn(o, n, generator=gen) / math.sqrt(n)
            W[p + name + '.bias'] = 0.05 * torch.randn(o, generator=gen)
        for name in ['attention.output.LayerNorm', 'output.LayerNorm']:
            W[p + name + '.weight'] = 1 + 0.1 * torch.randn(d, generator=gen)
            W[p + name + '.bias'] = 0.1 * torch.randn(d, generator=gen)
    return W


def write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f)


def make_model(work, key, use_transformers):
    """Writes the model directory; returns (dir, config, weights as the reference uses them, HF model or None)."""
    cfg = config_for(key)
    model_dir = os.path.join(work, key)
    os.makedirs(model_dir, exist_ok=True)
    hf = None
    if use_transformers:
        from transformers import AutoConfig, AutoModel
        torch.manual_seed(3)
        hf_cfg = AutoConfig.for_model(**{k: v for k, v in cfg.items() if k != 'architectures'})
        hf = AutoModel.from_config(hf_cfg).eval()
        hf.save_pretrained(model_dir, safe_serialization=True)
        # The reference reads the same numbers under its own (prefix-free) names.
        W = {k: v.detach().clone().float() for k, v in hf.state_dict().items() if not k.startswith('pooler.')}
        if hasattr(hf, 'base_model_prefix'):
            W = {k[len(hf.base_model_prefix) + 1:] if k.startswith(hf.base_model_prefix + '.') else k: v for k, v in W.items()}
    else:
        W = our_weights(cfg)
        save_safetensors(os.path.join(model_dir, 'model.safetensors'), W)
        write_json(os.path.join(model_dir, 'config.json'), cfg)
    # A WordPiece tokenizer in which "w<id>" is the single token <id> (ids below the model's vocabulary).
    vocab = {'[PAD]': 0}
    vocab.update({f'[unused{i}]': i for i in range(1, 100)})
    vocab.update({'[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103})
    vocab.update({f'w{i}': i for i in range(104, WORDS)})
    specials = [{'id': vocab[t], 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False,
                 'special': True} for t in ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']]
    write_json(os.path.join(model_dir, 'tokenizer.json'), {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': specials,
        'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True, 'strip_accents': None,
                       'lowercase': True},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {'type': 'BertProcessing', 'sep': ['[SEP]', 102], 'cls': ['[CLS]', 101]}, 'decoder': None,
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                  'max_input_chars_per_word': 100, 'vocab': vocab}})
    # Tells transformers' AutoTokenizer to read tokenizer.json as a BERT tokenizer whatever the model.
    write_json(os.path.join(model_dir, 'tokenizer_config.json'), {
        'tokenizer_class': 'BertTokenizerFast', 'do_lower_case': True, 'model_max_length': 512, 'unk_token': '[UNK]',
        'sep_token': '[SEP]', 'pad_token': '[PAD]', 'cls_token': '[CLS]', 'mask_token': '[MASK]'})
    # sentence-transformers: mean pooling, then Normalize.
    write_json(os.path.join(model_dir, 'modules.json'), [
        {'idx': 0, 'name': '0', 'path': '', 'type': 'sentence_transformers.models.Transformer'},
        {'idx': 1, 'name': '1', 'path': '1_Pooling', 'type': 'sentence_transformers.models.Pooling'},
        {'idx': 2, 'name': '2', 'path': '2_Normalize', 'type': 'sentence_transformers.models.Normalize'}])
    write_json(os.path.join(model_dir, 'sentence_bert_config.json'), {'max_seq_length': 512, 'do_lower_case': False})
    os.makedirs(os.path.join(model_dir, '1_Pooling'), exist_ok=True)
    write_json(os.path.join(model_dir, '1_Pooling', 'config.json'),
               {'word_embedding_dimension': cfg['hidden_size'], 'pooling_mode_mean_tokens': True})
    os.makedirs(os.path.join(model_dir, '2_Normalize'), exist_ok=True)
    return model_dir, cfg, W, hf


def batch_of(texts, pad):
    encoded = [[101] + [int(w[1:]) for w in t.split()] + [102] for t in texts]
    S = max(len(e) for e in encoded)
    ids = torch.full((len(encoded), S), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), S), dtype=torch.long)
    for i, e in enumerate(encoded):
        ids[i, :len(e)] = torch.tensor(e)
        mask[i, :len(e)] = 1
    return ids, mask


def mean_normalize(hidden, mask):
    m = mask.unsqueeze(-1).float()
    return F.normalize((hidden.float() * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)


def reference(cfg, W, texts, roberta):
    ids, mask = batch_of(texts, cfg['pad_token_id'])
    with torch.inference_mode():
        hidden = encoder_forward(W, cfg, ids, mask, torch.zeros_like(ids), roberta)
    return mean_normalize(hidden, mask)


def airlock_embed(airlock, model_dir, texts, device, precision):
    r = subprocess.run([airlock, 'embed', '--model', model_dir, '--device', device, '--precision', precision, '--json', *texts],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ['exit code %d' % r.returncode])[-1]
    return torch.tensor([d['embedding'] for d in json.loads(r.stdout)['data']]), None


def compare(got, want):
    return (got - want).abs().max().item(), F.cosine_similarity(got, want).min().item()


class Bench:
    """engine_bench, loaded once per model and precision; answers timing commands."""

    def __init__(self, path, model_dir, device, precision):
        self.p = subprocess.Popen([path, '--model', model_dir, '--device', device, '--precision', precision],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f'engine_bench could not load {model_dir} ({device} {precision})')
        assert json.loads(line)['ready']

    def forward(self, batch, seq, reps):
        self.p.stdin.write(f'forward {batch} {seq} {reps}\n')
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError('engine_bench died')
        return json.loads(line)['median_s']

    def close(self):
        self.p.stdin.write('quit\n')
        self.p.stdin.flush()
        self.p.wait()


def torch_cuda_time(run, reps):
    run()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--airlock', required=True)
    parser.add_argument('--bench', required=True)
    parser.add_argument('--work', default='/tmp/airlock-gpu-check')
    parser.add_argument('--models', default=','.join(SHAPES))
    parser.add_argument('--no-gpu', action='store_true', help='only the CPU rows (trying the script without a GPU)')
    args = parser.parse_args()
    cuda = torch.cuda.is_available() and not args.no_gpu
    use_transformers, use_st = have('transformers'), have('sentence_transformers')
    print(f'# airlock GPU check\n\ntorch {torch.__version__}, CUDA available: {torch.cuda.is_available()}'
          + (f' ({torch.cuda.get_device_name(0)})' if torch.cuda.is_available() else '')
          + f'; transformers: {"yes" if use_transformers else "no"}; sentence-transformers: {"yes" if use_st else "no"}\n')
    gen = torch.Generator().manual_seed(5)
    # Mixed lengths (packed batches on our side, padded on PyTorch's), up to 128 tokens.
    texts = [' '.join(f'w{int(x)}' for x in torch.randint(1000, 20000, (n,), generator=gen)) for n in [3, 17, 60, 126, 1, 40]]
    variants = [('cpu', 'fp32')] + ([('cuda', 'fp32'), ('cuda', 'fp16'), ('cuda', 'bf16')] if cuda else [])
    print('## correctness: max abs error and min cosine of the normalised mean-pooled embeddings\n')
    print('| model | what | against | max abs error | min cosine | goal |')
    print('|---|---|---|---|---|---|')
    failures = 0
    models = {}
    for key in args.models.split(','):
        model_dir, cfg, W, hf = make_model(args.work, key, use_transformers)
        models[key] = (model_dir, cfg, W, hf)
        judges = [('reference forward', reference(cfg, W, texts, SHAPES[key]['roberta']))]
        if hf is not None:
            ids, mask = batch_of(texts, cfg['pad_token_id'])
            with torch.inference_mode():
                hidden = hf(input_ids=ids, attention_mask=mask).last_hidden_state
            judges.append(('transformers', mean_normalize(hidden, mask)))
        if use_st:
            from sentence_transformers import SentenceTransformer
            st = SentenceTransformer(model_dir, device='cpu')
            judges.append(('sentence-transformers', torch.tensor(st.encode(texts))))
            del st
        for name, value in judges[1:]:
            err, cos = compare(value, judges[0][1])
            print(f'| {key} | {name} | reference forward | {err:.2e} | {cos:.6f} | (peer check) |')
        for device, precision in variants:
            got, error = airlock_embed(args.airlock, model_dir, texts, device, precision)
            if got is None:
                print(f'| {key} | airlock {device} {precision} | | failed: {error} | | FAIL |')
                failures += 1
                continue
            for judge, want in judges:
                err, cos = compare(got, want)
                ok = err <= 1e-4 if precision == 'fp32' else cos >= 0.999
                failures += 0 if ok else 1
                goal = ('abs ≤ 1e-4' if precision == 'fp32' else 'cos ≥ 0.999') + (': ok' if ok else ': FAIL')
                print(f'| {key} | airlock {device} {precision} | {judge} | {err:.2e} | {cos:.6f} | {goal} |', flush=True)
    if cuda:
        print('\n## speed: airlock CUDA against PyTorch CUDA (same weights, alternating, median of 20)\n')
        print(f'PyTorch side: {"transformers AutoModel" if use_transformers else "the reference forward"}; '
              'throughput ratio = PyTorch time / airlock time (> 1: airlock faster), latency ratio = airlock / PyTorch '
              '(< 1: airlock faster).\n')
        print('| model | precision | batch × tokens | airlock | PyTorch | ratio |')
        print('|---|---|---|---|---|---|')
        dtypes = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
        for key in args.models.split(','):
            model_dir, cfg, W, hf = models[key]
            for precision in ['fp32', 'fp16', 'bf16']:
                dtype = dtypes[precision]
                if hf is not None:
                    peer = hf.to('cuda', dtype)
                    run_peer = (lambda ids, mask, peer=peer: peer(input_ids=ids, attention_mask=mask))
                else:
                    Wd = {k: v.to('cuda', dtype) for k, v in W.items()}
                    roberta = SHAPES[key]['roberta']

                    def run_peer(ids, mask, Wd=Wd, roberta=roberta):
                        return encoder_forward(Wd, cfg, ids, mask, torch.zeros_like(ids), roberta)
                bench = Bench(args.bench, model_dir, 'cuda', precision)
                for batch, seq in [(32, 128), (1, 16), (1, 128)]:
                    a_times, t_times = [], []
                    ids = torch.randint(1000, 20000, (batch, seq), device='cuda')
                    mask = torch.ones_like(ids)
                    for _ in range(3):
                        a_times.append(bench.forward(batch, seq, 20))
                        with torch.inference_mode():
                            t_times.append(torch_cuda_time(lambda: run_peer(ids, mask), 20))
                    a, t = statistics.median(a_times), statistics.median(t_times)
                    kind = 'throughput' if batch > 1 else 'latency'
                    ratio = t / a if batch > 1 else a / t
                    print(f'| {key} | {precision} | {batch} × {seq} | {1000 * a:.2f} ms | {1000 * t:.2f} ms | '
                          f'{ratio:.2f} ({kind}) |', flush=True)
                bench.close()
            if hf is not None:
                hf.to('cpu', torch.float32)
            torch.cuda.empty_cache()
    print(f'\n{failures} correctness failures')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
