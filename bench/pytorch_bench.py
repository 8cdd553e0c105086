"""PyTorch reference for `transduce bench`: the same workloads, models and sizes, the same JSON.

    pip install torch            # CPU is enough (the default wheel also brings CUDA libraries)
    python3 bench/pytorch_bench.py --workload w1 --threads 2

Each workload trains on random batches of 32 pairs with source and target lengths drawn from
12-24 tokens (padded), a vocabulary of 8,000, label-smoothed cross-entropy (0.1) that ignores
padding, and one Adam step (0.9, 0.98, 1e-9). Decoding runs exactly as many steps as the padded
target length, without stopping at <eos>, greedy (cached) and beam 4, as `transduce bench` does.

w1: Transformer 3+3, d_model 256, 4 heads, d_ff 1024, dropout 0.1 (nn.Transformer, post-norm,
    ReLU, sinusoidal positions). Greedy decoding recomputes the decoder over the prefix (PyTorch's
    nn.TransformerDecoder has no cache); it is reported as both greedy_s and greedy_uncached_s.
w2: LSTM encoder 512 (1 layer), embeddings 256, LSTM decoder with Luong dot attention and input
    feeding (stepped one token at a time, as input feeding requires), no dropout.
gru: Sutskever seq2seq with GRUs of 512 (the encoder's final state starts the decoder), embeddings
    256, no dropout. Teacher forcing runs the decoder as one fused nn.GRU over the sequence, as a
    PyTorch user would write it.
bahdanau: bidirectional GRU encoder (2 x 256), bridge tanh(W [h_fwd; h_bwd]), GRU decoder 512 fed
    [y_t; c_t], additive attention 512, deep output tanh(W [s_t; c_t; y_t]), no dropout.
big: the Transformer base (6+6 layers, d_model 512, 8 heads, d_ff 2048, dropout 0.1), batches of
    64 pairs of 24-48 tokens.
peak: no model; the GFLOP/s of a 2048 x 2048 x 2048 float32 matmul (median of 10), the machine's
    practical peak for `transduce bench --workload peak`.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, UNK, SOS, EOS = 0, 1, 2, 3
VOCAB = 8000


class Rng:
    """SplitMix64, the same stream as transduce's bench (same batches)."""

    def __init__(self, seed):
        self.state = seed & (2**64 - 1)

    def below(self, n):
        self.state = (self.state + 0x9E3779B97F4A7C15) & (2**64 - 1)
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        return (z ^ (z >> 31)) % n


def random_batch(seed, batch_size=32, lo=12, hi=24):
    """A batch as transduce's bench draws it (`big`: 64 pairs of 24-48 tokens)."""
    rng = Rng(seed)

    def sentence():
        n = lo + rng.below(hi - lo + 1)
        return [4 + rng.below(VOCAB - 4) for _ in range(n)]

    pairs = [(sentence(), sentence()) for _ in range(batch_size)]

    def pad(rows):
        n = max(len(r) for r in rows)
        return torch.tensor([r + [PAD] * (n - len(r)) for r in rows])

    src = pad([s for s, _ in pairs])
    tgt_in = pad([[SOS] + t for _, t in pairs])
    tgt_out = pad([t + [EOS] for _, t in pairs])
    tokens = sum(len(t) + 1 for _, t in pairs)
    return src, tgt_in, tgt_out, tokens


def sinusoids(n, d):
    pos = torch.arange(n).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class TransformerModel(nn.Module):
    def __init__(self, d=256, heads=4, d_ff=1024, layers=3, dropout=0.1):
        super().__init__()
        self.d = d
        self.src_emb = nn.Embedding(VOCAB, d, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(VOCAB, d, padding_idx=PAD)
        self.register_buffer("pe", sinusoids(512, d))
        self.drop = nn.Dropout(dropout)
        self.transformer = nn.Transformer(d, heads, layers, layers, d_ff, dropout, batch_first=True)
        self.out = nn.Linear(d, VOCAB)

    def embed(self, emb, x):
        return self.drop(emb(x) * math.sqrt(self.d) + self.pe[: x.size(1)])

    def encode(self, src):
        return self.transformer.encoder(self.embed(self.src_emb, src), src_key_padding_mask=src == PAD)

    def decode(self, memory, src, tgt_in):
        n = tgt_in.size(1)
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        h = self.transformer.decoder(
            self.embed(self.tgt_emb, tgt_in), memory, tgt_mask=causal,
            tgt_key_padding_mask=tgt_in == PAD, memory_key_padding_mask=src == PAD,
        )
        return self.out(h)

    def forward(self, src, tgt_in):
        return self.decode(self.encode(src), src, tgt_in)

    def start(self, src):
        return (self.encode(src), src), None

    def step(self, memory, tokens, prefix):
        """Logits of the next token given the whole prefix (recomputed: no cache)."""
        enc, src = memory
        prefix = tokens.unsqueeze(1) if prefix is None else torch.cat([prefix, tokens.unsqueeze(1)], 1)
        logits = self.decode(enc, src, prefix)[:, -1]
        return logits, prefix

    def reorder(self, memory, prefix, index):
        return (memory[0][index], memory[1][index]), (None if prefix is None else prefix[index])


def encode_packed(encoder, embedding, src):
    """Runs a recurrent encoder over the real tokens only (packed), as transduce holds its state
    over padding; returns the padded outputs and the final state."""
    lengths = (src != PAD).sum(1)
    packed = nn.utils.rnn.pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False)
    out, final = encoder(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
    return out, final


class LuongModel(nn.Module):
    def __init__(self, d_emb=256, d=512):
        super().__init__()
        self.src_emb = nn.Embedding(VOCAB, d_emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(VOCAB, d_emb, padding_idx=PAD)
        self.encoder = nn.LSTM(d_emb, d, batch_first=True)
        self.decoder = nn.LSTMCell(d_emb + d, d)
        self.combine = nn.Linear(2 * d, d)
        self.out = nn.Linear(d, VOCAB)
        self.d = d

    def start(self, src):
        out, (h, c) = encode_packed(self.encoder, self.src_emb, src)
        feed = torch.zeros(src.size(0), self.d)
        return (out, src == PAD), (h[0], c[0], feed)

    def step(self, memory, tokens, state):
        out, mask = memory
        h, c, feed = state
        h, c = self.decoder(torch.cat([self.tgt_emb(tokens), feed], 1), (h, c))
        scores = torch.bmm(out, h.unsqueeze(2)).squeeze(2).masked_fill(mask, -1e9)
        alpha = torch.softmax(scores, 1)
        context = torch.bmm(alpha.unsqueeze(1), out).squeeze(1)
        feed = torch.tanh(self.combine(torch.cat([context, h], 1)))
        return self.out(feed), (h, c, feed)

    def reorder(self, memory, state, index):
        return (memory[0][index], memory[1][index]), tuple(s[index] for s in state)

    def forward(self, src, tgt_in):
        memory, state = self.start(src)
        logits = []
        for t in range(tgt_in.size(1)):
            step, state = self.step(memory, tgt_in[:, t], state)
            logits.append(step)
        return torch.stack(logits, 1)


class GruModel(nn.Module):
    def __init__(self, d_emb=256, d=512):
        super().__init__()
        self.src_emb = nn.Embedding(VOCAB, d_emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(VOCAB, d_emb, padding_idx=PAD)
        self.encoder = nn.GRU(d_emb, d, batch_first=True)
        self.decoder = nn.GRU(d_emb, d, batch_first=True)
        self.out = nn.Linear(d, VOCAB)

    def start(self, src):
        _, h = encode_packed(self.encoder, self.src_emb, src)
        return (src,), h

    def step(self, memory, tokens, h):
        out, h = self.decoder(self.tgt_emb(tokens).unsqueeze(1), h)
        return self.out(out.squeeze(1)), h

    def reorder(self, memory, h, index):
        return tuple(m[index] for m in memory), h[:, index]

    def forward(self, src, tgt_in):
        _, h = self.start(src)
        out, _ = self.decoder(self.tgt_emb(tgt_in), h)
        return self.out(out)


class BahdanauModel(nn.Module):
    def __init__(self, d_emb=256, d=512, d_attn=512):
        super().__init__()
        self.src_emb = nn.Embedding(VOCAB, d_emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(VOCAB, d_emb, padding_idx=PAD)
        self.encoder = nn.GRU(d_emb, d // 2, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(d, d)
        self.key = nn.Linear(d, d_attn)
        self.query = nn.Linear(d, d_attn, bias=False)
        self.v = nn.Linear(d_attn, 1, bias=False)
        self.decoder = nn.GRUCell(d_emb + d, d)
        self.deep = nn.Linear(2 * d + d_emb, d)
        self.out = nn.Linear(d, VOCAB)

    def start(self, src):
        out, h = encode_packed(self.encoder, self.src_emb, src)
        s = torch.tanh(self.bridge(torch.cat([h[0], h[1]], 1)))
        return (out, self.key(out), src == PAD), s

    def attend(self, memory, s):
        out, keys, mask = memory
        scores = self.v(torch.tanh(keys + self.query(s).unsqueeze(1))).squeeze(2).masked_fill(mask, -1e9)
        return torch.bmm(torch.softmax(scores, 1).unsqueeze(1), out).squeeze(1)

    def step(self, memory, tokens, s):
        y = self.tgt_emb(tokens)
        c = self.attend(memory, s)
        s = self.decoder(torch.cat([y, c], 1), s)
        return self.out(torch.tanh(self.deep(torch.cat([s, c, y], 1)))), s

    def reorder(self, memory, s, index):
        return tuple(m[index] for m in memory), s[index]

    def forward(self, src, tgt_in):
        memory, s = self.start(src)
        y = self.tgt_emb(tgt_in)
        features = []
        for t in range(tgt_in.size(1)):
            c = self.attend(memory, s)
            s = self.decoder(torch.cat([y[:, t], c], 1), s)
            features.append(torch.cat([s, c], 1))
        o = torch.tanh(self.deep(torch.cat([torch.stack(features, 1), y], 2)))
        return self.out(o)


def peak_gflops(n=2048, reps=10):
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - started)
    return 2 * n**3 / statistics.median(times) / 1e9


def greedy(model, src, steps):
    memory, state = model.start(src)
    tokens = torch.full((src.size(0),), SOS)
    for _ in range(steps):
        logits, state = model.step(memory, tokens, state)
        tokens = logits.argmax(1)
    return tokens


def beam(model, src, steps, k=4):
    batch = src.size(0)
    memory, state = model.start(src)
    index = torch.arange(batch).repeat_interleave(k)
    memory, state = model.reorder(memory, state, index)
    scores = torch.full((batch, k), -1e9)
    scores[:, 0] = 0
    tokens = torch.full((batch * k,), SOS)
    for _ in range(steps):
        logits, state = model.step(memory, tokens, state)
        logp = F.log_softmax(logits, 1)
        logp[:, EOS] = -1e9  # no early stop: a fixed number of steps
        total = (scores.view(-1, 1) + logp).view(batch, -1)
        scores, flat = total.topk(k, 1)
        parents = (flat // VOCAB) + torch.arange(batch).unsqueeze(1) * k
        tokens = (flat % VOCAB).view(-1)
        memory, state = model.reorder(memory, state, parents.view(-1))
    return tokens


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", default="w1", choices=["w1", "w2", "gru", "bahdanau", "big", "peak"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.workload == "peak":
        print(json.dumps({"workload": "peak", "device": "cpu", "matmul_gflops": peak_gflops(),
                          "torch_version": torch.__version__, "threads": args.threads}))
        return
    model = {
        "w1": TransformerModel,
        "w2": LuongModel,
        "gru": GruModel,
        "bahdanau": BahdanauModel,
        "big": lambda: TransformerModel(d=512, heads=8, d_ff=2048, layers=6),
    }[args.workload]()
    shape = dict(batch_size=64, lo=24, hi=48) if args.workload == "big" else {}
    optim = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    times, tokens = [], 0
    model.train()
    for step in range(args.warmup + args.steps):
        src, tgt_in, tgt_out, n = random_batch(step, **shape)
        started = time.perf_counter()
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt_out.reshape(-1), ignore_index=PAD, label_smoothing=0.1)
        optim.zero_grad()
        loss.backward()
        optim.step()
        loss.item()
        if step >= args.warmup:
            times.append(time.perf_counter() - started)
            tokens = n
    train_step_s = statistics.median(times)
    model.eval()
    src, tgt_in, _, _ = random_batch(999, **shape)
    steps = tgt_in.size(1)
    decoded = src.size(0) * steps
    with torch.no_grad():
        started = time.perf_counter()
        greedy(model, src, steps)
        greedy_s = time.perf_counter() - started
        started = time.perf_counter()
        beam(model, src, steps)
        beam4_s = time.perf_counter() - started
    print(json.dumps({
        "workload": args.workload,
        "device": "cpu",
        "train_step_s": train_step_s,
        "train_tokens_per_s": tokens / train_step_s,
        "greedy_s": greedy_s,
        "greedy_tokens_per_s": decoded / greedy_s,
        "beam4_s": beam4_s,
        "beam4_tokens_per_s": decoded / beam4_s,
        "greedy_uncached_s": greedy_s if args.workload in ("w1", "big") else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_version": torch.__version__,
        "threads": args.threads,
    }))


if __name__ == "__main__":
    main()
