"""Writes fixtures.json: PyTorch's own outputs for the recurrent, attention and transformer layers.

The Rust tests must reproduce every number to within 1e-5. Everything is float32 on the CPU,
seeded with torch.manual_seed(0) and deterministic. Run with the torch version recorded in the
output ("torch_version"; any CPU or CUDA wheel of it will do, the run is CPU-only):

    pip install torch==2.15.0 numpy
    python3 assets/pytorch/make_fixtures.py > assets/pytorch/fixtures.json

Every tensor is written as {"shape": [...], "data": [flat row-major values]} (floats are the exact
float32 values; int and bool tensors hold ints and bools). A module's weights are a dict from its
PyTorch state_dict() names to such tensors, in PyTorch's own shapes (a Linear weight is [out, in]).
Masks follow PyTorch: True means "masked out" (a padding key, or a future position).
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)
torch.backends.mha.set_fastpath_enabled(False)


def enc(t):
    t = t.detach().cpu().contiguous()
    if t.is_floating_point():
        t = t.to(torch.float32)
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def weights(module):
    return {name: enc(value) for name, value in module.state_dict().items()}


def randomise(module):
    """uniform(-0.5, 0.5) everywhere, except LayerNorm: weight 1+uniform(-0.2, 0.2), bias uniform(-0.2, 0.2)."""
    with torch.no_grad():
        for name, sub in module.named_modules():
            if isinstance(sub, nn.LayerNorm):
                sub.weight.copy_(1.0 + torch.empty_like(sub.weight).uniform_(-0.2, 0.2))
                sub.bias.uniform_(-0.2, 0.2)
        layer_norm_params = {
            id(p) for sub in module.modules() if isinstance(sub, nn.LayerNorm) for p in sub.parameters()
        }
        for p in module.parameters():
            if id(p) not in layer_norm_params:
                p.uniform_(-0.5, 0.5)


def padding_mask(lengths, total):
    """[batch, total] bool, True at positions >= length (padding)."""
    return torch.arange(total)[None, :] >= torch.tensor(lengths)[:, None]


def causal_mask(n):
    """[n, n] bool, True where key j > query i (not allowed)."""
    return torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)


# 1. Recurrent layers over packed, padded batches.
def rnn_case(cls, **kwargs):
    config = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    module = cls(**config, batch_first=True, bias=True, **kwargs)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.5, 0.5)
    lengths = [5, 3, 1]
    x = torch.randn(3, 5, 3)
    pad = padding_mask(lengths, 5)
    garbage = 3.0 + 5.0 * torch.rand(3, 5, 3)  # non-zero, to show padding is ignored
    x = torch.where(pad[:, :, None], garbage, x)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out, state = module(packed)
    output, _ = pad_packed_sequence(out, batch_first=True, total_length=5)
    case = {
        "config": config,
        "weights": weights(module),
        "x": enc(x),
        "lengths": enc(torch.tensor(lengths)),
        "output": enc(output),
    }
    if isinstance(state, tuple):
        case["h_n"], case["c_n"] = enc(state[0]), enc(state[1])
    else:
        case["h_n"] = enc(state)
    return case


def rnn_fixtures():
    return {
        "rnn": rnn_case(nn.RNN, nonlinearity="tanh"),
        "gru": rnn_case(nn.GRU),
        "lstm": rnn_case(nn.LSTM),
    }


# 2. Single-query attention scores (Luong / Bahdanau), computed directly.
def linear(d_in, d_out, bias):
    layer = nn.Linear(d_in, d_out, bias=bias)
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-0.5, 0.5)
    return layer


def attend(e, h, lengths):
    mask = padding_mask(lengths, h.shape[1])
    alpha = torch.softmax(e.masked_fill(mask, float("-inf")), dim=-1)
    alpha = alpha.masked_fill(mask, 0.0)
    context = torch.einsum("bs,bsd->bd", alpha, h)
    return alpha, context


def concat_case(query, h, lengths, query_name):
    d, d_attn = query.shape[-1], 6
    W, U, v = linear(d, d_attn, False), linear(h.shape[-1], d_attn, True), linear(d_attn, 1, False)
    with torch.no_grad():
        e = v(torch.tanh(W(query)[:, None, :] + U(h))).squeeze(-1)
        alpha, context = attend(e, h, lengths)
    return {
        query_name: enc(query),
        "W": enc(W.weight),
        "U": enc(U.weight),
        "U_bias": enc(U.bias),
        "v": enc(v.weight),
        "e": enc(e),
        "alpha": enc(alpha),
        "context": enc(context),
    }


def attention_fixtures():
    batch, src_len, d = 2, 5, 4
    lengths = [5, 3]
    s = torch.randn(batch, d)
    h = torch.randn(batch, src_len, d)
    out = {"s": enc(s), "h": enc(h), "lengths": enc(torch.tensor(lengths))}
    with torch.no_grad():
        e = torch.einsum("bd,bsd->bs", s, h)
        alpha, dot_context = attend(e, h, lengths)
        out["dot"] = {"e": enc(e), "alpha": enc(alpha), "context": enc(dot_context)}

        W_a = linear(d, d, False)
        e = torch.einsum("bd,bsd->bs", s, W_a(h))
        alpha, context = attend(e, h, lengths)
        out["general"] = {"W_a": enc(W_a.weight), "e": enc(e), "alpha": enc(alpha), "context": enc(context)}

    out["concat"] = concat_case(s, h, lengths, "s")
    out["additive"] = concat_case(torch.randn(batch, d), h, lengths, "s_prev")

    with torch.no_grad():
        W_c = linear(2 * d, d, True)
        h_tilde = torch.tanh(W_c(torch.cat([dot_context, s], dim=-1)))
    out["attentional"] = {
        "W_c": enc(W_c.weight),
        "b_c": enc(W_c.bias),
        "c": enc(dot_context),
        "s": enc(s),
        "h_tilde": enc(h_tilde),
    }
    return out


# 3. nn.MultiheadAttention.
def mha_fixtures():
    config = dict(embed_dim=8, num_heads=2)
    mha = nn.MultiheadAttention(**config, dropout=0.0, bias=True, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.uniform_(-0.5, 0.5)
    mha.eval()
    out = {"config": config, "weights": weights(mha)}

    def run(query, key, value, lengths, attn_mask):
        kpm = padding_mask(lengths, key.shape[1])
        with torch.no_grad():
            output, attn = mha(
                query, key, value,
                key_padding_mask=kpm, attn_mask=attn_mask,
                need_weights=True, average_attn_weights=False,
            )
        case = {
            "query": enc(query),
            "key": enc(key),
            "value": enc(value),
            "lengths": enc(torch.tensor(lengths)),
            "key_padding_mask": enc(kpm),
        }
        if attn_mask is not None:
            case["attn_mask"] = enc(attn_mask)
        case["output"] = enc(output)
        case["weights"] = enc(attn)
        return case

    q = torch.randn(2, 4, 8)
    kv = torch.randn(2, 5, 8)
    out["cross"] = run(q, kv, kv, [5, 3], None)
    x = torch.randn(2, 4, 8)
    out["self_causal"] = run(x, x, x, [4, 2], causal_mask(4))
    return out


# 4./5. Post-norm transformer layers.
LAYER_CONFIG = dict(d_model=8, nhead=2, dim_feedforward=16, activation="relu", norm_first=False, layer_norm_eps=1e-5)


def layer_config_kwargs():
    return dict(LAYER_CONFIG, dropout=0.0, batch_first=True)


def encoder_layer_fixtures():
    layer = nn.TransformerEncoderLayer(**layer_config_kwargs())
    randomise(layer)
    layer.eval()
    lengths = [5, 3]
    src = torch.randn(2, 5, 8)
    kpm = padding_mask(lengths, 5)
    with torch.no_grad():
        output = layer(src, src_key_padding_mask=kpm)
    return {
        "config": LAYER_CONFIG,
        "weights": weights(layer),
        "src": enc(src),
        "lengths": enc(torch.tensor(lengths)),
        "src_key_padding_mask": enc(kpm),
        "output": enc(output),
    }


def decoder_layer_fixtures():
    layer = nn.TransformerDecoderLayer(**layer_config_kwargs())
    randomise(layer)
    layer.eval()
    tgt_lengths, memory_lengths = [4, 2], [5, 3]
    tgt = torch.randn(2, 4, 8)
    memory = torch.randn(2, 5, 8)
    tgt_mask = causal_mask(4)
    tgt_kpm = padding_mask(tgt_lengths, 4)
    memory_kpm = padding_mask(memory_lengths, 5)
    with torch.no_grad():
        output = layer(
            tgt, memory,
            tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_kpm, memory_key_padding_mask=memory_kpm,
        )
    return {
        "config": LAYER_CONFIG,
        "weights": weights(layer),
        "tgt": enc(tgt),
        "memory": enc(memory),
        "tgt_lengths": enc(torch.tensor(tgt_lengths)),
        "memory_lengths": enc(torch.tensor(memory_lengths)),
        "tgt_mask": enc(tgt_mask),
        "tgt_key_padding_mask": enc(tgt_kpm),
        "memory_key_padding_mask": enc(memory_kpm),
        "output": enc(output),
    }


# 6. Label-smoothed cross-entropy with a padding index.
def label_smoothing_fixtures():
    pad = 0
    logits = torch.randn(6, 7) * 2.0
    targets = torch.tensor([3, 0, 6, 1, 0, 5])
    losses = []
    for eps in [0.0, 0.1, 0.25]:
        loss = F.cross_entropy(logits, targets, label_smoothing=eps, ignore_index=pad)
        losses.append({"eps": eps, "loss": loss.item()})
    return {"pad": pad, "logits": enc(logits), "targets": enc(targets), "losses": losses}


def dumps(value, indent=0):
    """JSON with dicts spread over lines and flat lists of numbers kept on one line."""
    pad = " " * indent
    if isinstance(value, dict):
        items = [f'{pad} {json.dumps(k)}: {dumps(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [f"{pad} {dumps(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False)


out = {
    "torch_version": torch.__version__,
    "dtype": "float32",
    "seed": 0,
    "rnn": rnn_fixtures(),
    "attention": attention_fixtures(),
    "mha": mha_fixtures(),
    "encoder_layer": encoder_layer_fixtures(),
    "decoder_layer": decoder_layer_fixtures(),
    "label_smoothing": label_smoothing_fixtures(),
}
sys.stdout.write(dumps(out) + "\n")
