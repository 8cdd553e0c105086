"""A training step's phases in PyTorch: forward (with the loss), backward and the optimizer step,
medians of 6 steps after 2 of warm-up; the counterpart of
`cargo run --release --example train_phases -- w2`.

    python3 bench/pytorch_phases.py w2
"""
import os, sys, time, statistics, torch, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_bench as pb
torch.set_num_threads(2)
torch.manual_seed(1)
w = sys.argv[1] if len(sys.argv) > 1 else "w2"
model = {"w1": pb.TransformerModel, "w2": pb.LuongModel, "gru": pb.GruModel, "bahdanau": pb.BahdanauModel}[w]()
optim = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
model.train()
f, b, o = [], [], []
for step in range(8):
    src, tgt_in, tgt_out, n = pb.random_batch(step)
    t0 = time.perf_counter()
    logits = model(src, tgt_in)
    loss = F.cross_entropy(logits.reshape(-1, pb.VOCAB), tgt_out.reshape(-1), ignore_index=pb.PAD, label_smoothing=0.1)
    loss.item()
    t1 = time.perf_counter()
    optim.zero_grad(); loss.backward()
    t2 = time.perf_counter()
    optim.step()
    t3 = time.perf_counter()
    if step >= 2: f.append(t1-t0); b.append(t2-t1); o.append(t3-t2)
print(f"{w}: forward {statistics.median(f):.3f} s, backward {statistics.median(b):.3f} s, optimizer {statistics.median(o):.3f} s")
