"""Writes assets/pytorch/import/<arch>/: small PyTorch seq2seq models, trained, for `transduce import`.

For each architecture this defines a PyTorch module that computes exactly what transduce's model
of the same config computes (the state_dict names are the ones `transduce_nn::pytorch` documents),
trains it briefly on the built-in task of reversing digit strings (`4721` -> `1274`, character
tokens, the special tokens <pad>=0 <unk>=1 <sos>=2 <eos>=3 first, as transduce's vocabularies
have them), and writes:

    model.pt or model.safetensors   torch.save(model.state_dict()) / safetensors.torch.save_file
    src_vocab.json tgt_vocab.json   {"tokens": [...]} in id order (transduce's format), or
    src_vocab.txt tgt_vocab.txt     one token per line in id order (the luong fixture)
    config.json                     {"model": {...}}: transduce's ModelConfig of the same model
    expected.json                   50 fixed sources, their greedy translations (source length n:
                                    at most 2n + 10 tokens, stopping at <eos>, as transduce decodes),
                                    and the teacher-forced logits of 3 of them

The Rust tests (crates/transduce-infer/src/import.rs) import each directory into an artifact and
require the same 50 translations and logits within 1e-4. Run with the torch version recorded in
expected.json ("torch_version"; the run is CPU-only; about 3 minutes on one core):

    pip install torch==2.15.0 safetensors
    python3 assets/pytorch/make_import_fixture.py

Everything is float32, seeded (torch.manual_seed), with deterministic algorithms; dropout is only
used in training (model.eval() for the outputs). Training runs a fixed number of steps, not a time
budget, on one thread, so a run reproduces its weights on the same machine.
"""
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, UNK, SOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<sos>", "<eos>"]
TOKENS = SPECIALS + [str(d) for d in range(10)]
ID = {t: i for i, t in enumerate(TOKENS)}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "import")

torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)
torch.backends.mha.set_fastpath_enabled(False)


# ---------------------------------------------------------------- the models

def sinusoids(n, d):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(..), in float64 as transduce computes it."""
    pe = torch.zeros(n, d, dtype=torch.float64)
    for j in range(d):
        two_i = j - j % 2
        angle = torch.arange(n, dtype=torch.float64) / 10000.0 ** (two_i / d)
        pe[:, j] = torch.sin(angle) if j % 2 == 0 else torch.cos(angle)
    return pe.to(torch.float32)


class Transformer(nn.Module):
    """transduce's Transformer: x = Embedding(ids) * sqrt(d_model) + PE, post-norm layers (no final
    norm; pre-norm would add encoder.norm and decoder.norm), logits = out(y)."""

    def __init__(self, cfg):
        super().__init__()
        d, self.d = cfg["d_model"], cfg["d_model"]
        self.src_emb = nn.Embedding(cfg["src_vocab_size"], d)
        self.tgt_emb = nn.Embedding(cfg["tgt_vocab_size"], d)
        norm_first = cfg["norm_first"]

        def layer(cls):
            return cls(d, cfg["n_heads"], cfg["d_ff"], cfg["dropout"], batch_first=True, norm_first=norm_first)

        final_norm = lambda: nn.LayerNorm(d) if norm_first else None  # noqa: E731
        self.encoder = nn.TransformerEncoder(
            layer(nn.TransformerEncoderLayer), cfg["n_encoder_layers"], norm=final_norm(), enable_nested_tensor=False
        )
        self.decoder = nn.TransformerDecoder(layer(nn.TransformerDecoderLayer), cfg["n_decoder_layers"], norm=final_norm())
        self.out = nn.Linear(d, cfg["tgt_vocab_size"])
        self.drop = nn.Dropout(cfg["embedding_dropout"])
        self.register_buffer("pe", sinusoids(256, d), persistent=False)

    def embed(self, emb, ids):
        return self.drop(emb(ids) * math.sqrt(self.d) + self.pe[: ids.size(1)])

    def encode(self, src):
        return self.encoder(self.embed(self.src_emb, src), src_key_padding_mask=src == PAD), src == PAD

    def decode(self, memory, tgt_in):
        enc, src_pad = memory
        n = tgt_in.size(1)
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        y = self.decoder(
            self.embed(self.tgt_emb, tgt_in), enc, tgt_mask=causal,
            tgt_key_padding_mask=tgt_in == PAD, memory_key_padding_mask=src_pad,
        )
        return self.out(y)

    def forward(self, src, tgt_in):
        return self.decode(self.encode(src), tgt_in)

    def greedy(self, src, limit):
        memory = self.encode(src)
        prefix = torch.tensor([[SOS]])
        out = []
        for _ in range(limit):
            token = int(self.decode(memory, prefix)[0, -1].argmax())
            if token == EOS:
                break
            out.append(token)
            prefix = torch.cat([prefix, torch.tensor([[token]])], 1)
        return out


RNNS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class Recurrent(nn.Module):
    """transduce's seq2seq, Luong and Bahdanau models. The encoder runs over the real tokens only
    (packed), as transduce's holds its state over padding; a bidirectional encoder's final states
    go through bridge_h (and bridge_c for the LSTM): s_0 = tanh(W [h_fwd; h_bwd] + b) per layer.
    The decoder is a multi-layer nn.RNN/GRU/LSTM stepped one token at a time."""

    def __init__(self, arch, cfg):
        super().__init__()
        self.arch, self.cell = arch, cfg["cell"]
        e, d, n = cfg["d_embedding"], cfg["d_hidden"], cfg["n_layers"]
        self.bidirectional = cfg["bidirectional"]
        self.reverse_source = cfg.get("reverse_source", False)
        self.input_feeding = arch == "luong" and cfg["input_feeding"]
        rnn = RNNS[self.cell]
        dirs = 2 if self.bidirectional else 1
        self.src_emb = nn.Embedding(cfg["src_vocab_size"], e)
        self.encoder = rnn(e, d // dirs, num_layers=n, bidirectional=self.bidirectional, batch_first=True)
        if self.bidirectional:
            self.bridge_h = nn.Linear(d, d)
            if self.cell == "lstm":
                self.bridge_c = nn.Linear(d, d)
        self.tgt_emb = nn.Embedding(cfg["tgt_vocab_size"], e)
        d_input = e + (d if self.input_feeding or arch == "bahdanau" else 0)
        self.decoder = rnn(d_input, d, num_layers=n, batch_first=True)
        score = {"luong": cfg.get("score"), "bahdanau": "concat", "seq2seq": None}[arch]
        self.score = score
        if score is not None:
            self.attention = nn.Module()
            d_attn = cfg.get("d_attention", d)
            if score == "general":
                self.attention.key = nn.Linear(d, d, bias=False)  # W_a h
            elif score == "concat":
                self.attention.key = nn.Linear(d, d_attn)  # U h + b
                self.attention.query = nn.Linear(d, d_attn, bias=False)  # W s
                self.attention.v = nn.Linear(d_attn, 1, bias=False)
        if arch == "luong":
            self.combine = nn.Linear(2 * d, d)  # s~ = tanh(W_c [a; s] + b_c)
        if arch == "bahdanau":
            self.deep_output = nn.Linear(2 * d + e, d)  # o = tanh(W_o [s; c; y] + b_o)
        self.out = nn.Linear(d, cfg["tgt_vocab_size"])
        self.d, self.n = d, n

    def encode(self, src):
        pad = src == PAD
        lengths = (~pad).sum(1)
        if self.reverse_source:
            src = src.clone()
            for b, n in enumerate(lengths.tolist()):
                src[b, :n] = src[b, :n].flip(0)
        x = self.src_emb(src)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, final = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h_n, c_n = final if self.cell == "lstm" else (final, None)
        if self.bidirectional:
            both = lambda t: torch.cat([t[0::2], t[1::2]], 2)  # noqa: E731  [layers, batch, d]
            h_n = torch.tanh(self.bridge_h(both(h_n)))
            if c_n is not None:
                c_n = torch.tanh(self.bridge_c(both(c_n)))
        state = (h_n, c_n) if self.cell == "lstm" else h_n
        keys = out
        if self.score is not None and hasattr(self.attention, "key"):
            keys = self.attention.key(out)
        feed = torch.zeros(src.size(0), self.d) if self.input_feeding else None
        return (out, keys, pad), (state, feed)

    def top(self, state):
        return (state[0] if self.cell == "lstm" else state)[-1]

    def attend(self, memory, query):
        out, keys, pad = memory
        if self.score == "concat":
            scores = self.attention.v(torch.tanh(keys + self.attention.query(query).unsqueeze(1))).squeeze(2)
        else:
            scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
        alpha = torch.softmax(scores.masked_fill(pad, -1e9), 1)
        return torch.bmm(alpha.unsqueeze(1), out).squeeze(1)

    def step(self, memory, tokens, state):
        """Logits of the next token after `tokens`; returns them and the next state."""
        rnn_state, feed = state
        y = self.tgt_emb(tokens)  # [batch, e]
        if self.arch == "bahdanau":
            c = self.attend(memory, self.top(rnn_state))
            s, rnn_state = self.decoder(torch.cat([y, c], 1).unsqueeze(1), rnn_state)
            o = torch.tanh(self.deep_output(torch.cat([s[:, 0], c, y], 1)))
            return self.out(o), (rnn_state, None)
        x = torch.cat([y, feed], 1) if self.input_feeding else y
        s, rnn_state = self.decoder(x.unsqueeze(1), rnn_state)
        s = s[:, 0]
        if self.arch == "seq2seq":
            return self.out(s), (rnn_state, None)
        a = self.attend(memory, s)
        attentional = torch.tanh(self.combine(torch.cat([a, s], 1)))
        return self.out(attentional), (rnn_state, attentional if self.input_feeding else None)

    def forward(self, src, tgt_in):
        memory, state = self.encode(src)
        logits = []
        for t in range(tgt_in.size(1)):
            step, state = self.step(memory, tgt_in[:, t], state)
            logits.append(step)
        return torch.stack(logits, 1)

    def greedy(self, src, limit):
        memory, state = self.encode(src)
        token, out = torch.tensor([SOS]), []
        for _ in range(limit):
            logits, state = self.step(memory, token, state)
            token = logits.argmax(1)
            if int(token) == EOS:
                break
            out.append(int(token))
        return out


# ---------------------------------------------------------------- data and training

def digits(rng, lo=3, hi=12):
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(lo, hi)))


def batch(rng, size):
    sources = [digits(rng) for _ in range(size)]

    def pad(rows):
        n = max(len(r) for r in rows)
        return torch.tensor([r + [PAD] * (n - len(r)) for r in rows])

    src = pad([[ID[c] for c in s] for s in sources])
    tgt = [[ID[c] for c in s[::-1]] for s in sources]
    return src, pad([[SOS] + t for t in tgt]), pad([t + [EOS] for t in tgt])


def train(model, steps, lr, warmup, seed):
    rng = random.Random(seed)
    optim = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / warmup))
    model.train()
    for step in range(steps):
        src, tgt_in, tgt_out = batch(rng, 64)
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD)
        optim.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"  step {step}: loss {loss.item():.4f}", flush=True)
    model.eval()


def text(ids):
    """transduce's char detokenisation of target ids (<pad> and <sos> dropped)."""
    return "".join(TOKENS[i] for i in ids if i not in (PAD, SOS))


# ---------------------------------------------------------------- the fixtures

FIXTURES = {
    "transformer": dict(
        weights="model.pt", vocab="json", steps=1500, lr=2e-3, warmup=200,
        model=dict(
            arch="transformer", d_model=32, n_heads=4, d_ff=64, n_encoder_layers=2, n_decoder_layers=2,
            dropout=0.1, attention_dropout=0.1, embedding_dropout=0.1, norm_first=False,
            positions="sinusoidal", max_len=256, share_embeddings=False, tie_output=False,
        ),
    ),
    "luong": dict(
        weights="model.safetensors", vocab="txt", steps=400, lr=1e-2, warmup=50,
        model=dict(
            arch="luong", cell="lstm", score="general", input_feeding=True, d_embedding=16, d_hidden=48,
            n_layers=1, bidirectional=True, dropout=0.0,
        ),
    ),
    "bahdanau": dict(
        weights="model.pt", vocab="json", steps=400, lr=1e-2, warmup=50,
        model=dict(
            arch="bahdanau", cell="gru", d_embedding=16, d_hidden=48, d_attention=32, n_layers=1,
            bidirectional=True, dropout=0.0,
        ),
    ),
    "seq2seq": dict(
        weights="model.pt", vocab="json", steps=1000, lr=5e-3, warmup=50,
        model=dict(
            arch="seq2seq", cell="rnn", d_embedding=16, d_hidden=48, n_layers=2, bidirectional=False,
            dropout=0.0, reverse_source=True,
        ),
    ),
}


def write_vocab(directory, side, kind):
    if kind == "json":
        with open(os.path.join(directory, f"{side}_vocab.json"), "w") as f:
            json.dump({"tokens": TOKENS}, f, indent=2)
    else:
        with open(os.path.join(directory, f"{side}_vocab.txt"), "w") as f:
            f.write("".join(t + "\n" for t in TOKENS))


def make(arch, spec, seed):
    torch.manual_seed(seed)
    cfg = dict(spec["model"], src_vocab_size=len(TOKENS), tgt_vocab_size=len(TOKENS))
    model = Transformer(cfg) if arch == "transformer" else Recurrent(arch, cfg)
    started = time.perf_counter()
    train(model, spec["steps"], spec["lr"], spec["warmup"], seed)
    seconds = time.perf_counter() - started

    rng = random.Random(1000 + seed)
    sources = [digits(rng) for _ in range(50)]
    with torch.no_grad():
        hyps = [model.greedy(torch.tensor([[ID[c] for c in s]]), 2 * len(s) + 10) for s in sources]
        logits = []
        for s, h in list(zip(sources, hyps))[:3]:
            tgt_in = [SOS] + h
            out = model(torch.tensor([[ID[c] for c in s]]), torch.tensor([tgt_in]))[0]
            logits.append({
                "source": s, "tgt_in": tgt_in,
                "logits": {"shape": list(out.shape), "data": out.reshape(-1).tolist()},
            })
    translations = [text(h) for h in hyps]
    exact = sum(t == s[::-1] for s, t in zip(sources, translations))

    directory = os.path.join(OUT, arch)
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if spec["weights"].endswith(".safetensors"):
        from safetensors.torch import save_file
        save_file(state, os.path.join(directory, spec["weights"]))
    else:
        torch.save(state, os.path.join(directory, spec["weights"]))
    write_vocab(directory, "src", spec["vocab"])
    write_vocab(directory, "tgt", spec["vocab"])
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({"model": cfg}, f, indent=2)
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump({
            "torch_version": torch.__version__, "arch": arch, "train_steps": spec["steps"], "seed": seed,
            "exact_match": exact / len(sources), "sources": sources, "translations": translations,
            "logits": logits,
        }, f)
    size = sum(os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory))
    print(f"{arch}: trained {seconds:.0f} s, exact match {exact}/50, {size / 1024:.0f} KiB", flush=True)


def main():
    for seed, (arch, spec) in enumerate(FIXTURES.items()):
        print(arch, flush=True)
        make(arch, spec, seed)


if __name__ == "__main__":
    main()
