"""Tiny random BERT / XLM-R / RoBERTa checkpoints and their reference outputs, for
make_tiny_models.py. The reference forward below follows transformers' modeling_bert.py and
modeling_xlm_roberta.py (BertEmbeddings, get_extended_attention_mask, BertSelfAttention,
BertSelfOutput, BertIntermediate, BertOutput, BertPooler, the sequence-classification heads) and
sentence-transformers' Pooling / Dense / Normalize modules, in PyTorch (Debian python3-torch)."""
import json
import math
import os
import random
import struct

import torch
import torch.nn.functional as F

import text_corpus

# ---- safetensors writer -----------------------------------------------------------------------

DTYPES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16'}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def save_weights(model_dir, tensors, dtype, shards):
    tensors = {k: v.to(dtype) for k, v in tensors.items()}
    if shards == 1:
        save_safetensors(os.path.join(model_dir, 'model.safetensors'), tensors)
        return
    names = sorted(tensors)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        file = f'model-{i + 1:05d}-of-{shards:05d}.safetensors'
        save_safetensors(os.path.join(model_dir, file), {n: tensors[n] for n in part})
        weight_map.update({n: file for n in part})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    with open(os.path.join(model_dir, 'model.safetensors.index.json'), 'w') as f:
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)


# ---- random weights ---------------------------------------------------------------------------

def random_weights(cfg, gen, head):
    """Weights scaled so that attention is far from uniform and every part of the math matters."""
    d, ff, L = cfg['hidden_size'], cfg['intermediate_size'], cfg['num_hidden_layers']

    def normal(*shape, std):
        return torch.randn(*shape, generator=gen) * std

    w = {
        'embeddings.word_embeddings.weight': normal(cfg['vocab_size'], d, std=1.0),
        'embeddings.position_embeddings.weight': normal(cfg['max_position_embeddings'], d, std=0.5),
        'embeddings.token_type_embeddings.weight': normal(cfg['type_vocab_size'], d, std=0.5),
        'embeddings.LayerNorm.weight': 1 + normal(d, std=0.1),
        'embeddings.LayerNorm.bias': normal(d, std=0.1),
    }
    for i in range(L):
        p = f'encoder.layer.{i}.'
        for name, (o, n) in {'attention.self.query': (d, d), 'attention.self.key': (d, d), 'attention.self.value': (d, d),
                             'attention.output.dense': (d, d), 'intermediate.dense': (ff, d), 'output.dense': (d, ff)}.items():
            w[p + name + '.weight'] = normal(o, n, std=1.5 / math.sqrt(n))
            w[p + name + '.bias'] = normal(o, std=0.1)
        for name in ['attention.output.LayerNorm', 'output.LayerNorm']:
            w[p + name + '.weight'] = 1 + normal(d, std=0.1)
            w[p + name + '.bias'] = normal(d, std=0.1)
    if head == 'bert':
        w['pooler.dense.weight'] = normal(d, d, std=1.0 / math.sqrt(d))
        w['pooler.dense.bias'] = normal(d, std=0.1)
    return w


def head_weights(cfg, gen, head):
    d = cfg['hidden_size']
    n = cfg['num_labels']
    if head == 'bert':
        return {'classifier.weight': torch.randn(n, d, generator=gen) / math.sqrt(d),
                'classifier.bias': torch.randn(n, generator=gen) * 0.1}
    return {'classifier.dense.weight': torch.randn(d, d, generator=gen) / math.sqrt(d),
            'classifier.dense.bias': torch.randn(d, generator=gen) * 0.1,
            'classifier.out_proj.weight': torch.randn(n, d, generator=gen) / math.sqrt(d),
            'classifier.out_proj.bias': torch.randn(n, generator=gen) * 0.1}


# ---- the reference forward (transformers' modeling_bert, inference mode) ----------------------

ACT = {
    'gelu': lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))),
    'gelu_new': lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    'relu': torch.relu,
}


def create_position_ids_from_input_ids(input_ids, padding_idx):
    mask = input_ids.ne(padding_idx).int()
    incremental_indices = torch.cumsum(mask, dim=1).type_as(mask) * mask
    return incremental_indices.long() + padding_idx


def encoder_forward(W, cfg, input_ids, attention_mask, token_type_ids, roberta):
    d, h = cfg['hidden_size'], cfg['num_attention_heads']
    dh = d // h
    eps = cfg['layer_norm_eps']
    B, S = input_ids.shape
    # BertEmbeddings / RobertaEmbeddings
    if roberta:
        position_ids = create_position_ids_from_input_ids(input_ids, cfg['pad_token_id'])
    else:
        position_ids = torch.arange(S).unsqueeze(0).expand(B, S)
    inputs_embeds = W['embeddings.word_embeddings.weight'][input_ids]
    token_type_embeddings = W['embeddings.token_type_embeddings.weight'][token_type_ids]
    embeddings = inputs_embeds + token_type_embeddings
    embeddings = embeddings + W['embeddings.position_embeddings.weight'][position_ids]
    embeddings = F.layer_norm(embeddings, (d,), W['embeddings.LayerNorm.weight'], W['embeddings.LayerNorm.bias'], eps)
    # ModuleUtilsMixin.get_extended_attention_mask
    extended = attention_mask[:, None, None, :].to(torch.float32)
    extended = (1.0 - extended) * torch.finfo(torch.float32).min
    act = ACT[cfg['hidden_act']]
    hidden = embeddings
    for i in range(cfg['num_hidden_layers']):
        p = f'encoder.layer.{i}.'

        def lin(x, name):
            return F.linear(x, W[p + name + '.weight'], W[p + name + '.bias'])

        def transpose_for_scores(x):
            return x.view(B, S, h, dh).permute(0, 2, 1, 3)
        # BertSelfAttention
        query_layer = transpose_for_scores(lin(hidden, 'attention.self.query'))
        key_layer = transpose_for_scores(lin(hidden, 'attention.self.key'))
        value_layer = transpose_for_scores(lin(hidden, 'attention.self.value'))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(dh)
        attention_scores = attention_scores + extended
        attention_probs = torch.softmax(attention_scores, dim=-1)
        context_layer = torch.matmul(attention_probs, value_layer)
        context_layer = context_layer.permute(0, 2, 1, 3).contiguous().view(B, S, d)
        # BertSelfOutput
        attention_output = F.layer_norm(lin(context_layer, 'attention.output.dense') + hidden, (d,),
                                        W[p + 'attention.output.LayerNorm.weight'], W[p + 'attention.output.LayerNorm.bias'], eps)
        # BertIntermediate, BertOutput
        intermediate = act(lin(attention_output, 'intermediate.dense'))
        hidden = F.layer_norm(lin(intermediate, 'output.dense') + attention_output, (d,),
                              W[p + 'output.LayerNorm.weight'], W[p + 'output.LayerNorm.bias'], eps)
    return hidden


def st_pool(hidden, mask, modes):
    """sentence-transformers Pooling.forward."""
    out = []
    m = mask.unsqueeze(-1).to(hidden.dtype)
    for mode in ['cls', 'max', 'mean', 'lasttoken']:
        if mode not in modes:
            continue
        if mode == 'cls':
            out.append(hidden[:, 0])
        elif mode == 'max':
            out.append(torch.max(hidden.masked_fill(m == 0, -1e9), 1)[0])
        elif mode == 'mean':
            out.append(torch.sum(hidden * m, 1) / torch.clamp(m.sum(1), min=1e-9))
        else:
            last = mask.sum(1) - 1
            out.append(hidden[torch.arange(hidden.shape[0]), last])
    return torch.cat(out, 1)


# ---- models -----------------------------------------------------------------------------------

def pad_batch(encodings, pad_id):
    S = max(len(e['ids']) for e in encodings)
    ids = torch.full((len(encodings), S), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encodings), S), dtype=torch.long)
    types = torch.zeros((len(encodings), S), dtype=torch.long)
    for i, e in enumerate(encodings):
        n = len(e['ids'])
        ids[i, :n] = torch.tensor(e['ids'])
        mask[i, :n] = 1
        types[i, :n] = torch.tensor(e['type_ids'])
    return ids, mask, types


def write_json(path, value):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(value, f, ensure_ascii=False)


def make_models(out, tokenizers, node):
    rng = random.Random(11)
    texts = [b'', b'hello world', 'The quick brown fox jumps over the lazy dog.'.encode(), 'café naïve résumé'.encode(),
             '東京 人工智能 机器学习模型'.encode(), '😀 👍🏽 [MASK] <mask>'.encode(), b'\xff\xfe invalid bytes \xc3']
    texts += [s.encode() for s in text_corpus.training_lines(5, 14)]
    texts.append(' '.join(text_corpus.training_lines(6, 30)).encode())  # longer than every limit: truncated
    query = 'what is the capital of france?'.encode()
    passages = [b'Paris is the capital of France.', b'', 'Berlin ist die Hauptstadt Deutschlands.'.encode(),
                'パリはフランスの首都です。'.encode()] + [s.encode() for s in text_corpus.training_lines(7, 6)]
    passages.append(' '.join(text_corpus.training_lines(8, 40)).encode())
    specs = [
        # name, tokenizer, architecture, hidden, heads, ff, layers, act, weight dtype, shards, prefix, head,
        # pooling config, normalize, extra
        dict(name='bert_embed', tokenizer='bert_uncased', arch='BertModel', d=128, h=4, ff=256, L=2, act='gelu',
             dtype=torch.float32, shards=1, prefix='', head=None, pooling={'pooling_mode_mean_tokens': True},
             modes=['mean'], normalize=True, max_seq=64),
        dict(name='bert_cls_f16', tokenizer='bert_uncased', arch='BertModel', d=64, h=2, ff=128, L=3, act='gelu_new',
             dtype=torch.float16, shards=2, prefix='bert.', head=None, pooling={'pooling_mode': 'cls'},
             modes=['cls'], normalize=False, max_seq=None, prompts={'query': 'query: ', 'passage': 'passage: '}),
        dict(name='xlmr_embed', tokenizer='xlmr_unigram', arch='XLMRobertaModel', d=48, h=3, ff=96, L=2, act='gelu',
             dtype=torch.bfloat16, shards=1, prefix='', head=None, pooling={'pooling_mode': ['mean']},
             modes=['mean'], normalize=True, max_seq=None),
        dict(name='roberta_dense', tokenizer='roberta_bpe', arch='RobertaModel', d=128, h=2, ff=256, L=2, act='relu',
             dtype=torch.float32, shards=1, prefix='roberta.', head=None,
             pooling={'pooling_mode_cls_token': True, 'pooling_mode_max_tokens': True, 'pooling_mode_mean_tokens': False},
             modes=['cls', 'max'], normalize=True, max_seq=48, dense=16),
        dict(name='bert_reranker', tokenizer='bert_uncased', arch='BertForSequenceClassification', d=64, h=4, ff=128, L=2,
             act='gelu', dtype=torch.float32, shards=1, prefix='bert.', head='bert'),
        dict(name='xlmr_reranker', tokenizer='xlmr_unigram', arch='XLMRobertaForSequenceClassification', d=64, h=2,
             ff=128, L=2, act='gelu', dtype=torch.float32, shards=1, prefix='roberta.', head='roberta'),
    ]
    cases = []
    for index, spec in enumerate(specs):
        model_dir = os.path.join(out, 'models', spec['name'])
        os.makedirs(model_dir, exist_ok=True)
        tok = tokenizers[spec['tokenizer']]
        roberta = spec['arch'].startswith(('Roberta', 'XLMRoberta'))
        vocab_size = len(tok['model']['vocab'])
        pad_id = 1 if roberta else 0
        max_pos = 64 + (pad_id + 1 if roberta else 0)
        cfg = {'architectures': [spec['arch']], 'model_type': 'xlm-roberta' if spec['arch'].startswith('XLM') else
               ('roberta' if roberta else 'bert'), 'vocab_size': vocab_size, 'hidden_size': spec['d'],
               'num_hidden_layers': spec['L'], 'num_attention_heads': spec['h'], 'intermediate_size': spec['ff'],
               'hidden_act': spec['act'], 'hidden_dropout_prob': 0.1, 'attention_probs_dropout_prob': 0.1,
               'max_position_embeddings': max_pos, 'type_vocab_size': 1 if roberta else 2,
               'initializer_range': 0.02, 'layer_norm_eps': 1e-5 if roberta else 1e-12, 'pad_token_id': pad_id,
               'position_embedding_type': 'absolute', 'torch_dtype': 'float32', 'transformers_version': '4.40.0'}
        if spec['head']:
            cfg['id2label'] = {'0': 'LABEL_0'}
            cfg['label2id'] = {'LABEL_0': 0}
            cfg['num_labels'] = 1
        gen = torch.Generator().manual_seed(1000 + index)
        W = random_weights(cfg, gen, spec['head'])
        extra = head_weights(cfg, gen, spec['head']) if spec['head'] else {}
        # What the engine loads is what the reference computes with: weights rounded to the file's dtype.
        W = {k: v.to(spec['dtype']).to(torch.float32) for k, v in W.items()}
        extra = {k: v.to(spec['dtype']).to(torch.float32) for k, v in extra.items()}
        stored = {spec['prefix'] + k: v for k, v in W.items()}
        if spec['name'] == 'roberta_dense':
            # Old checkpoints name LayerNorm parameters gamma/beta.
            stored = {k.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'): v
                      for k, v in stored.items()}
        stored.update(extra)
        save_weights(model_dir, stored, spec['dtype'], spec['shards'])
        write_json(os.path.join(model_dir, 'config.json'), cfg)
        write_json(os.path.join(model_dir, 'tokenizer.json'), tok)
        reference = {'architecture': spec['arch']}
        if spec['head'] is None:
            modules = [{'idx': 0, 'name': '0', 'path': '', 'type': 'sentence_transformers.models.Transformer'},
                       {'idx': 1, 'name': '1', 'path': '1_Pooling', 'type': 'sentence_transformers.models.Pooling'}]
            os.makedirs(os.path.join(model_dir, '1_Pooling'), exist_ok=True)
            pooling = dict(spec['pooling'])
            pooling['word_embedding_dimension'] = spec['d']
            write_json(os.path.join(model_dir, '1_Pooling', 'config.json'), pooling)
            dense = None
            if spec.get('dense'):
                n_in = spec['d'] * len(spec['modes'])
                dense = {'weight': torch.randn(spec['dense'], n_in, generator=gen) / math.sqrt(n_in),
                         'bias': torch.randn(spec['dense'], generator=gen) * 0.1}
                ddir = os.path.join(model_dir, '2_Dense')
                os.makedirs(ddir, exist_ok=True)
                write_json(os.path.join(ddir, 'config.json'), {'in_features': n_in, 'out_features': spec['dense'], 'bias': True,
                                                               'activation_function': 'torch.nn.modules.activation.Tanh'})
                save_safetensors(os.path.join(ddir, 'model.safetensors'), {'linear.weight': dense['weight'], 'linear.bias': dense['bias']})
                modules.append({'idx': 2, 'name': '2', 'path': '2_Dense', 'type': 'sentence_transformers.models.Dense'})
            if spec['normalize']:
                modules.append({'idx': len(modules), 'name': str(len(modules)), 'path': f'{len(modules)}_Normalize',
                                'type': 'sentence_transformers.models.Normalize'})
            write_json(os.path.join(model_dir, 'modules.json'), modules)
            if spec.get('max_seq'):
                write_json(os.path.join(model_dir, 'sentence_bert_config.json'), {'max_seq_length': spec['max_seq'], 'do_lower_case': False})
            if spec.get('prompts'):
                write_json(os.path.join(model_dir, 'config_sentence_transformers.json'),
                           {'prompts': spec['prompts'], 'default_prompt_name': None, 'similarity_fn_name': 'cosine'})
            max_tokens = spec.get('max_seq') or (max_pos - (pad_id + 1 if roberta else 0))
            runs = {'plain': ''}
            if spec.get('prompts'):
                runs['query'] = spec['prompts']['query']
            for run_name, prefix in runs.items():
                inputs = [(prefix.encode() + t).hex() for t in texts]
                encoded = encode_with(node, out, spec['name'] + '_' + run_name, model_dir, inputs, max_tokens)
                ids, mask, types = pad_batch(encoded, pad_id)
                with torch.no_grad():
                    hidden = encoder_forward(W, cfg, ids, mask, types, roberta)
                    pooled = st_pool(hidden, mask, spec['modes'])
                    if dense is not None:
                        pooled = torch.tanh(F.linear(pooled, dense['weight'], dense['bias']))
                    if spec['normalize']:
                        pooled = F.normalize(pooled, p=2, dim=1)
                reference[run_name] = {
                    'inputs': inputs, 'ids': [e['ids'] for e in encoded], 'type_ids': [e['type_ids'] for e in encoded],
                    'embeddings': pooled.tolist(),
                    'hidden': [hidden[i, :len(encoded[i]['ids'])].flatten().tolist() for i in range(4)]}
            cases.append({'name': spec['name'], 'dir': model_dir, 'kind': 'embedding', 'reference': os.path.join(model_dir, 'reference.json'),
                          'normalize': spec['normalize'], 'prompts': bool(spec.get('prompts'))})
        else:
            max_tokens = max_pos - (pad_id + 1 if roberta else 0)
            inputs = [[query.hex(), p.hex()] for p in passages]
            encoded = encode_with(node, out, spec['name'], model_dir, inputs, max_tokens)
            ids, mask, types = pad_batch(encoded, pad_id)
            if roberta:
                types = torch.zeros_like(types)
            with torch.no_grad():
                hidden = encoder_forward(W, cfg, ids, mask, types, roberta)
                first = hidden[:, 0]
                if spec['head'] == 'bert':
                    pooled = torch.tanh(F.linear(first, W['pooler.dense.weight'], W['pooler.dense.bias']))
                    logits = F.linear(pooled, extra['classifier.weight'], extra['classifier.bias'])
                else:
                    x = torch.tanh(F.linear(first, extra['classifier.dense.weight'], extra['classifier.dense.bias']))
                    logits = F.linear(x, extra['classifier.out_proj.weight'], extra['classifier.out_proj.bias'])
            reference['rank'] = {'query': query.hex(), 'passages': [p.hex() for p in passages],
                                 'ids': [e['ids'] for e in encoded], 'type_ids': [e['type_ids'] for e in encoded],
                                 'logits': logits[:, 0].tolist()}
            cases.append({'name': spec['name'], 'dir': model_dir, 'kind': 'classifier', 'reference': os.path.join(model_dir, 'reference.json')})
        write_json(os.path.join(model_dir, 'reference.json'), reference)
    return cases


def encode_with(node, out, name, model_dir, inputs, max_tokens):
    job = {'tokenizer': os.path.join(model_dir, 'tokenizer.json'), 'inputs': inputs,
           'truncation': {'max_length': max_tokens, 'strategy': 'LongestFirst', 'direction': 'Right'},
           'padding': None, 'add_special_tokens': True}
    job_path = os.path.join(out, 'work', f'model_job_{name}.json')
    result_path = os.path.join(out, 'work', f'model_ids_{name}.json')
    write_json(job_path, job)
    node('encode', job_path, result_path)
    with open(result_path) as f:
        results = json.load(f)['results']
    return [{'ids': [int(x) for x in r[0].split()], 'type_ids': [int(x) for x in r[1].split()]} for r in results]
