#!/usr/bin/python3
"""Engine benchmark: airlock (engine_bench) against PyTorch (Debian python3-torch) on the same
random models of real shapes, in the same run, alternating the two, 2 threads each.

  /usr/bin/python3 bench/engine/run_bench.py --bench build/release/bench/engine/engine_bench [--openblas minilm,base] [--batching]

Shapes: MiniLM-L6 (6 x 384), BERT-base (12 x 768), BERT-large (24 x 1024). Throughput at
batch 32 x 128 tokens, latency at 1 x 16 and 1 x 128; fp32, bf16 against PyTorch's bf16
autocast (and its fp32), and int8 (CPUs with VNNI) against PyTorch fp32 (the issue's stretch goal). Also: oneDNN against OpenBLAS on every layer's GEMM shape, and the
accuracy of each airlock variant on the same inputs (fp32 against the PyTorch reference, the
others against airlock fp32). The fp32 GEMM peak (oneDNN, 4096 x 4096 x 1024) is measured before
and after; a run whose peak reads low, or moves, had a busy machine and should be discarded.
Both engines run with OMP_WAIT_POLICY=passive, as the airlock commands do, unless the
environment sets a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT). PyTorch gets libopenblas0-openmp
when it is installed (its libblas.so.3 and liblapack.so.3 are preloaded, whatever the system's
alternatives say). Prints Markdown tables. --batching: only the batching gain for short inputs
(MiniLM-L6, 7 tokens, 1 thread, batch 1 against batch 64, fp32, bf16 and int8). --int8-outliers: only
int8's accuracy on MiniLM-L6 with synthetic outlier channels."""
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
    'minilm': dict(name='MiniLM-L6', L=6, d=384, h=12, ff=1536),
    'base': dict(name='BERT-base', L=12, d=768, h=12, ff=3072),
    'large': dict(name='BERT-large', L=24, d=1024, h=16, ff=4096),
}
VOCAB = 30522
# How repeated timings are summarised (--stat): the fastest, by default, because other work on a
# shared machine only ever adds time; or the median.
STAT = {'name': 'min', 'of': min}


def gflop_per_sequence(shape, seq):
    """Linear layers 2 * (4 d^2 + 2 d ff) per token, attention 4 * S * d per token, per layer."""
    L, d, ff = shape['L'], shape['d'], shape['ff']
    return L * seq * (2 * (4 * d * d + 2 * d * ff) + 4 * seq * d) / 1e9


def make_model(work, key):
    shape = SHAPES[key]
    model_dir = os.path.join(work, key)
    cfg = {'architectures': ['BertModel'], 'model_type': 'bert', 'vocab_size': VOCAB, 'hidden_size': shape['d'],
           'num_hidden_layers': shape['L'], 'num_attention_heads': shape['h'], 'intermediate_size': shape['ff'],
           'hidden_act': 'gelu', 'max_position_embeddings': 512, 'type_vocab_size': 2, 'layer_norm_eps': 1e-12,
           'pad_token_id': 0, 'position_embedding_type': 'absolute'}
    gen = torch.Generator().manual_seed(7)
    d, ff = shape['d'], shape['ff']
    W = {'embeddings.word_embeddings.weight': torch.randn(VOCAB, d, generator=gen) * 0.02,
         'embeddings.position_embeddings.weight': torch.randn(512, d, generator=gen) * 0.02,
         'embeddings.token_type_embeddings.weight': torch.randn(2, d, generator=gen) * 0.02,
         'embeddings.LayerNorm.weight': torch.ones(d), 'embeddings.LayerNorm.bias': torch.zeros(d)}
    for i in range(shape['L']):
        p = f'encoder.layer.{i}.'
        for name, (o, n) in {'attention.self.query': (d, d), 'attention.self.key': (d, d), 'attention.self.value': (d, d),
                             'attention.output.dense': (d, d), 'intermediate.dense': (ff, d), 'output.dense': (d, ff)}.items():
            W[p + name + '.weight'] = torch.randn(o, n, generator=gen) * 0.02
            W[p + name + '.bias'] = torch.zeros(o)
        for name in ['attention.output.LayerNorm', 'output.LayerNorm']:
            W[p + name + '.weight'] = torch.ones(d)
            W[p + name + '.bias'] = torch.zeros(d)
    if not os.path.exists(os.path.join(model_dir, 'model.safetensors')):
        os.makedirs(model_dir, exist_ok=True)
        save_safetensors(os.path.join(model_dir, 'model.safetensors'), W)
        with open(os.path.join(model_dir, 'config.json'), 'w') as f:
            json.dump(cfg, f)
        # A WordPiece vocabulary where "w<n>" is one token, so that texts of N words are N + 2 tokens.
        vocab = {'[PAD]': 0}
        vocab.update({f'[unused{i}]': i + 1 for i in range(99)})
        vocab.update({'[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103})
        for i in range(len(vocab), VOCAB):
            vocab[f'w{i}'] = i
        special = [{'id': vocab[t], 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                    'normalized': False, 'special': True} for t in ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']]
        tok = {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': special,
               'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True,
                              'strip_accents': None, 'lowercase': True},
               'pre_tokenizer': {'type': 'BertPreTokenizer'},
               'post_processor': {'type': 'BertProcessing', 'sep': ['[SEP]', 102], 'cls': ['[CLS]', 101]},
               'decoder': None, 'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                                          'max_input_chars_per_word': 100, 'vocab': vocab}}
        with open(os.path.join(model_dir, 'tokenizer.json'), 'w') as f:
            json.dump(tok, f)
    return model_dir, cfg, W


class Airlock:
    def __init__(self, bench, model_dir, precision='fp32', gemm='onednn', threads=2):
        args = [bench, '--threads', str(threads), '--precision', precision, '--gemm', gemm]
        if model_dir:
            args += ['--model', model_dir]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert json.loads(self.p.stdout.readline())['ready']

    def run(self, command):
        self.p.stdin.write(command + '\n')
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f'engine_bench died on: {command}')
        return json.loads(line)['min_s' if STAT['name'] == 'min' else 'median_s']

    def vectors(self, texts):
        self.p.stdin.write(f'vectors {len(texts)}\n' + ''.join(t + '\n' for t in texts))
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError('engine_bench died on vectors')
        return torch.tensor(json.loads(line)['vectors'])

    def close(self):
        self.p.stdin.write('quit\n')
        self.p.stdin.flush()
        self.p.wait()


def torch_time(cfg, W, batch, seq, reps, bf16=False):
    ids = torch.randint(1000, 20000, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    types = torch.zeros(batch, seq, dtype=torch.long)

    def once():
        with torch.inference_mode():
            if bf16:
                with torch.autocast('cpu', dtype=torch.bfloat16):
                    encoder_forward(W, cfg, ids, mask, types, False)
            else:
                encoder_forward(W, cfg, ids, mask, types, False)
    once()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return STAT['of'](times)


def accuracy_texts(batch, seq, seed):
    """Texts of seq tokens ([CLS] + seq - 2 words + [SEP]) and their ids."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 20000, (batch, seq - 2), generator=gen)
    texts = [' '.join(f'w{int(i)}' for i in row) for row in ids]
    full = torch.cat([torch.full((batch, 1), 101), ids, torch.full((batch, 1), 102)], dim=1)
    return texts, full


def torch_vectors(cfg, W, ids):
    """Mean pooling of the reference forward: what airlock embeds for a model without modules.json."""
    with torch.inference_mode():
        hidden = encoder_forward(W, cfg, ids, torch.ones_like(ids), torch.zeros_like(ids), False)
    return hidden.mean(dim=1)


def batching_gain(args):
    """Short inputs (7 tokens) on 1 thread: sequences/s at batch 1 and at batch 64, airlock fp32,
    bf16 and int8 (ids in, and texts in through Model::embed), with PyTorch fp32 in the same run. This is
    what a server that merges requests can gain from merging them."""
    threads, seq, reps = 1, 7, 200
    key = 'minilm'
    model_dir, cfg, W = make_model(args.work, key)
    torch.set_num_threads(threads)
    rows = []
    variants = ([('fp32', 'onednn')] + ([] if args.skip_bf16 else [('bf16', 'onednn')]) +
                ([] if args.skip_int8 else [('int8', 'onednn')]))
    for precision, gemm in variants:
        engine = Airlock(args.bench, model_dir, precision, gemm, threads)
        for command in ('forward', 'embed'):
            samples = {1: [], 64: []}
            for _ in range(args.rounds):
                for batch in (1, 64):
                    samples[batch].append(batch / engine.run(f'{command} {batch} {seq} {reps if batch == 1 else reps // 16}'))
            one, many = STAT['of'](samples[1]), STAT['of'](samples[64])
            rows.append((f'airlock {precision}', 'ids in' if command == 'forward' else 'texts in (embed)', one, many))
            print(rows[-1], file=sys.stderr, flush=True)
        engine.close()
    samples = {1: [], 64: []}
    for _ in range(args.rounds):
        for batch in (1, 64):
            samples[batch].append(batch / torch_time(cfg, W, batch, seq, reps if batch == 1 else reps // 16))
    rows.append(('PyTorch fp32', 'ids in', STAT['of'](samples[1]), STAT['of'](samples[64])))
    torch.set_num_threads(args.threads)
    print(f'\nBatching gain, {SHAPES[key]["name"]}, {seq}-token inputs, {threads} thread, {STAT["name"]} of '
          f'{args.rounds} rounds; load {os.getloadavg()[0]:.2f}:\n')
    print('| engine | input | batch 1 | batch 64 | gain (batch 64 / batch 1) |')
    print('|---|---|---|---|---|')
    for what, kind, one, many in rows:
        print(f'| {what} | {kind} | {one:.0f} seq/s | {many:.0f} seq/s | **{many / one:.2f}×** |')


def int8_outliers(args):
    """int8 against fp32 on MiniLM-L6 with synthetic outlier channels: trained BERTs carry a few
    hidden dimensions whose LayerNorm outputs are many times larger than the rest, which costs
    per-token int8 quantisation the resolution of the others. The LayerNorm gains of 2 of the 384
    dimensions are set to 1, 5, 10, 20 in every layer; min cosine over 8 x 128-token texts, of the
    whole vector and of the other 382 dimensions alone."""
    key = 'minilm'
    base_dir, cfg, W = make_model(args.work, key)
    outliers = [17, 300]
    print('| LayerNorm gain of 2 dims | min cosine, whole vector | min cosine, the other 382 dims |')
    print('|---|---|---|')
    for gain in (1, 5, 10, 20):
        model_dir = os.path.join(args.work, f'{key}-outliers-{gain}')
        os.makedirs(model_dir, exist_ok=True)
        for name in ('config.json', 'tokenizer.json'):
            with open(os.path.join(base_dir, name)) as src, open(os.path.join(model_dir, name), 'w') as dst:
                dst.write(src.read())
        weights = dict(W)
        for name in W:
            if name.endswith('LayerNorm.weight'):
                g = W[name].clone()
                g[outliers] = float(gain)
                weights[name] = g
        save_safetensors(os.path.join(model_dir, 'model.safetensors'), weights)
        texts, _ = accuracy_texts(8, 128, 1)
        vectors = {}
        for precision in ('fp32', 'int8'):
            engine = Airlock(args.bench, model_dir, precision, 'onednn', args.threads)
            vectors[precision] = engine.vectors(texts)
            engine.close()
        keep = [i for i in range(vectors['fp32'].shape[1]) if i not in outliers]
        whole = F.cosine_similarity(vectors['int8'], vectors['fp32']).min().item()
        rest = F.cosine_similarity(vectors['int8'][:, keep], vectors['fp32'][:, keep]).min().item()
        print(f'| {gain} | {whole:.6f} | {rest:.6f} |', flush=True)


def torch_gemm_peak():
    a, b = torch.randn(4096, 1024), torch.randn(1024, 4096)
    torch.matmul(a, b)
    t0 = time.perf_counter()
    for _ in range(5):
        torch.matmul(a, b)
    return 2 * 4096 * 4096 * 1024 * 5 / (time.perf_counter() - t0) / 1e9


OPENMP_BLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-openmp'


def main():
    # PyTorch takes whatever libblas.so.3 the system's alternatives name; the peer is the
    # OpenMP OpenBLAS. Restart with it preloaded (for this process only: engine_bench keeps its own).
    env = dict(os.environ)
    if os.path.isdir(OPENMP_BLAS_DIR) and env.get('AIRLOCK_BENCH_TORCH_BLAS') is None:
        # Both libraries: the pthread variant's liblapack.so.3 would bring a second OpenBLAS along.
        preload = f'{OPENMP_BLAS_DIR}/libblas.so.3 {OPENMP_BLAS_DIR}/liblapack.so.3'
        env.update(AIRLOCK_BENCH_TORCH_BLAS='OpenBLAS (OpenMP)', LD_PRELOAD=preload)
    # Both engines wait the way airlock's commands do (src/cli/openmp_wait_policy.h): on this
    # shared machine PyTorch's default spinning makes its batch-1 times swing by 100x whenever
    # another process takes a core. libgomp reads the policy as it loads, hence the restart too.
    if 'OMP_WAIT_POLICY' not in env and 'GOMP_SPINCOUNT' not in env:
        env['OMP_WAIT_POLICY'] = 'passive'
    if env != dict(os.environ):
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    os.environ.pop('LD_PRELOAD', None)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--bench', required=True, help='path to the engine_bench binary (release build)')
    parser.add_argument('--work', default='/tmp/airlock-engine-bench', help='where the random models are kept')
    parser.add_argument('--models', default='minilm,base,large')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--skip-bf16', action='store_true')
    parser.add_argument('--skip-int8', action='store_true')
    parser.add_argument('--openblas', default='', help='models (comma-separated) to run end to end with OpenBLAS GEMMs too')
    parser.add_argument('--batching', action='store_true',
                        help='only the batching gain for short inputs (MiniLM-L6, 7 tokens, 1 thread, batch 1 vs 64)')
    parser.add_argument('--int8-outliers', action='store_true',
                        help='only int8 against fp32 on MiniLM-L6 with synthetic outlier channels')
    parser.add_argument('--stat', choices=['min', 'median'], default='min',
                        help='summary of the repeated timings: the fastest (default: other work on the machine only '
                             'adds time) or the median')
    args = parser.parse_args()
    STAT.update(name=args.stat, of=min if args.stat == 'min' else statistics.median)
    if args.int8_outliers:
        int8_outliers(args)
        return
    if args.batching:
        print(f'load {os.getloadavg()}', file=sys.stderr)
        batching_gain(args)
        return
    torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS '
          f'{os.environ.get("AIRLOCK_BENCH_TORCH_BLAS", "system")}; OMP_WAIT_POLICY '
          f'{os.environ.get("OMP_WAIT_POLICY", "(default)")}; load {os.getloadavg()}', file=sys.stderr)

    peak_probe = Airlock(args.bench, None, threads=args.threads)
    gemm_flop = 2 * 4096 * 4096 * 1024

    def peak():
        return max(gemm_flop / peak_probe.run('gemm 4096 4096 1024 5') / 1e9 for _ in range(2))
    peak_before = peak()
    torch_peak = torch_gemm_peak()
    print(f'fp32 GEMM peak before: oneDNN {peak_before:.0f} GFLOP/s, torch.matmul {torch_peak:.0f} GFLOP/s', file=sys.stderr)

    # The two GEMM libraries on the layers' own shapes (M = 32 x 128 tokens, and 16 for latency).
    gemm_rows = []
    for key in args.models.split(','):
        shape = SHAPES[key]
        d, ff = shape['d'], shape['ff']
        for m in (4096, 16):
            for name, n, k in (('QKV', 3 * d, d), ('attention out', d, d), ('FFN up', ff, d), ('FFN down', d, ff)):
                reps = 3 if m > 16 else 200
                flop = 2 * m * n * k
                onednn = flop / peak_probe.run(f'gemm {m} {n} {k} {reps}') / 1e9
                openblas = flop / peak_probe.run(f'gemm {m} {n} {k} {reps} openblas') / 1e9
                gemm_rows.append((shape['name'], name, m, n, k, onednn, openblas))
                print(f'gemm {shape["name"]} {name} {m}x{n}x{k}: oneDNN {onednn:.0f}, OpenBLAS {openblas:.0f} GFLOP/s',
                      file=sys.stderr, flush=True)

    rows = []
    accuracy = []
    torch_fp32 = {}
    cases = [(32, 128, 'throughput'), (1, 16, 'latency'), (1, 128, 'latency')]
    for key in args.models.split(','):
        shape = SHAPES[key]
        model_dir, cfg, W = make_model(args.work, key)
        variants = [('fp32', 'onednn')]
        if key in args.openblas.split(','):
            variants.append(('fp32', 'openblas'))
        if not args.skip_bf16:
            variants.append(('bf16', 'onednn'))
        if not args.skip_int8:
            variants.append(('int8', 'onednn'))
        for precision, gemm in variants:
            engine = Airlock(args.bench, model_dir, precision, gemm, args.threads)
            for batch, seq, kind in cases:
                if precision == 'bf16' and kind == 'latency' and key != 'base':
                    continue
                big = batch * seq * shape['L'] * shape['d'] ** 2 > 32 * 128 * 12 * 768 ** 2
                # A BERT-large batch is ~2.5 TFLOP: one timed pass (after a warm-up) per round, and two rounds.
                reps = 1 if big else (2 if batch > 1 else 20)
                a_times, t_times = [], []
                for _ in range(min(args.rounds, 2) if big else args.rounds):
                    a_times.append(engine.run(f'forward {batch} {seq} {reps}'))
                    t_times.append(torch_time(cfg, W, batch, seq, reps, bf16=precision == 'bf16'))
                a, t = STAT['of'](a_times), STAT['of'](t_times)
                if precision in ('fp32', 'int8'):  # int8's peer is PyTorch fp32, timed alongside it
                    torch_fp32[(key, batch, seq)] = t
                row = dict(model=shape['name'], precision=precision, gemm=gemm, batch=batch, seq=seq, kind=kind,
                           airlock_s=a, torch_s=t)
                if precision == 'bf16' and (key, batch, seq) in torch_fp32:
                    row['vs_torch_fp32'] = torch_fp32[(key, batch, seq)] / a if batch > 1 else a / torch_fp32[(key, batch, seq)]
                if kind == 'throughput':
                    row['airlock_seq_s'] = batch / a
                    row['torch_seq_s'] = batch / t
                    row['ratio'] = t / a
                    row['airlock_gflop_s'] = batch / a * gflop_per_sequence(shape, seq)
                    row['torch_gflop_s'] = batch / t * gflop_per_sequence(shape, seq)
                else:
                    row['ratio'] = a / t  # latency: lower is better, goal <= 0.5
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
            # Accuracy on the same inputs: fp32 against the PyTorch reference, bf16 against fp32.
            texts, ids = accuracy_texts(8, 128, 1)
            got = engine.vectors(texts)
            if precision == 'fp32' and gemm == 'onednn':
                reference = torch_vectors(cfg, W, ids)
                accuracy.append((shape['name'], 'fp32 oneDNN', 'PyTorch fp32 reference',
                                 (got - reference).abs().max().item(), F.cosine_similarity(got, reference).min().item()))
                fp32_vectors = got
            else:
                accuracy.append((shape['name'], f'{precision} {gemm}', 'airlock fp32',
                                 (got - fp32_vectors).abs().max().item(), F.cosine_similarity(got, fp32_vectors).min().item()))
            if precision == 'fp32' and gemm == 'onednn':
                texts = engine.run('embed 32 128 3')
                rows.append(dict(model=shape['name'], precision='fp32', gemm=gemm, batch=32, seq=128, kind='embed (texts in)',
                                 airlock_s=texts, airlock_seq_s=32 / texts))
            engine.close()
    peak_after = peak()
    peak_probe.close()
    print(f'fp32 GEMM peak after: oneDNN {peak_after:.0f} GFLOP/s', file=sys.stderr)

    low = min(peak_before, peak_after) < 0.8 * max(peak_before, peak_after)
    # The share of the better of the two peak readings: other work can only have lowered either.
    peak_best = max(peak_before, peak_after)
    print(f'\nfp32 GEMM peak (oneDNN, 4096x4096x1024, {args.threads} threads, OMP_WAIT_POLICY {os.environ.get("OMP_WAIT_POLICY", "(default)")}): before {peak_before:.0f} GFLOP/s, '
          f'after {peak_after:.0f} GFLOP/s; torch.matmul {torch_peak:.0f} GFLOP/s; timings: the {STAT["name"]} of the '
          f'repetitions; load {os.getloadavg()[0]:.2f}'
          + (' -- the peak moved by more than 20 %: a busy machine, discard this run' if low else '') + '\n')
    print('| model | precision | GEMM | batch × tokens | airlock | PyTorch | ratio | airlock % of peak | PyTorch % of peak |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        versus = ''
        if 'vs_torch_fp32' in r:
            versus = f" (vs PyTorch fp32: {r['vs_torch_fp32']:.2f}{'×' if r['kind'] == 'throughput' else ''})"
        if r['kind'] == 'throughput':
            print(f"| {r['model']} | {r['precision']} | {r['gemm']} | {r['batch']} × {r['seq']} | {r['airlock_seq_s']:.1f} seq/s | "
                  f"{r['torch_seq_s']:.1f} seq/s | **{r['ratio']:.2f}×**{versus} | {100 * r['airlock_gflop_s'] / peak_best:.0f} % | "
                  f"{100 * r['torch_gflop_s'] / peak_best:.0f} % |")
        elif r['kind'] == 'latency':
            print(f"| {r['model']} | {r['precision']} | {r['gemm']} | {r['batch']} × {r['seq']} | {1000 * r['airlock_s']:.2f} ms | "
                  f"{1000 * r['torch_s']:.2f} ms | **{r['ratio']:.2f}** (latency){versus} | | |")
        else:
            print(f"| {r['model']} | {r['precision']} | {r['gemm']} | {r['batch']} × {r['seq']} texts | {r['airlock_seq_s']:.1f} seq/s "
                  f"(embed: tokenization and pooling included) | | | | |")
    print('\nThroughput ratio: PyTorch time / airlock time (goal ≥ 1.6 MiniLM, ≥ 1.15 base/large); latency ratio: '
          'airlock time / PyTorch time (goal ≤ 0.5); bf16 rows are against PyTorch bf16 autocast, and in brackets '
          'against PyTorch fp32 (goal ≥ 2× on BERT-base); int8 rows are against PyTorch fp32 (stretch goal ≥ 3×, '
          'cosine ≥ 0.99 to fp32).\n')
    print('| model | airlock | against | max abs error | min cosine |')
    print('|---|---|---|---|---|')
    for model, what, against, err, cos in accuracy:
        print(f'| {model} | {what} | {against} | {err:.2e} | {cos:.6f} |')
    print('\nGEMM libraries on the layer shapes (fp32, GFLOP/s):\n')
    print('| model | layer | M × N × K | oneDNN | OpenBLAS |')
    print('|---|---|---|---|---|')
    for model, name, m, n, k, onednn, openblas in gemm_rows:
        print(f'| {model} | {name} | {m} × {n} × {k} | {onednn:.0f} | {openblas:.0f} |')


if __name__ == '__main__':
    main()
