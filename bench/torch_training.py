# PyTorch's side of bench/training.ts: the same training steps, timed the same way.
# Run by the benchmark with Debian's /usr/bin/python3 (python3-torch + libopenblas0); prints JSON.
# torch keeps its default threading, which is its fastest on this machine (one intra-op
# thread with OpenBLAS using every core).
#
#   /usr/bin/python3 bench/torch_training.py '{"task": "seed", "hidden": 1024, "batch": 128, "steps": 60}'

import json
import sys
import time

import torch
import torch.nn.functional as F


def seed_network_step(hidden, batch):
    model = torch.nn.Sequential(
        torch.nn.Linear(784, hidden), torch.nn.BatchNorm1d(hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 784)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def ff_step(widths, batch):
    # One Forward-Forward update: positive and negative passes, a local loss and update per layer,
    # each layer's input detached and length-normalised (no gradient crosses a layer).
    layers = [torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
    opts = [torch.optim.Adam(layer.parameters(), lr=1e-3) for layer in layers]
    pos = torch.rand(batch, widths[0])
    neg = torch.rand(batch, widths[0])

    def step():
        hp, hn = pos, neg
        for layer, opt in zip(layers, opts):
            hp = hp / (hp.pow(2).mean(1, keepdim=True).sqrt() + 1e-8)
            hn = hn / (hn.pow(2).mean(1, keepdim=True).sqrt() + 1e-8)
            ap, an = torch.relu(layer(hp)), torch.relu(layer(hn))
            theta = ap.shape[1]
            loss = (F.softplus(theta - ap.pow(2).sum(1)) + F.softplus(an.pow(2).sum(1) - theta)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            hp, hn = ap.detach(), an.detach()

    return step


def cnn_step(channels, hidden, batch):
    # chainrule's `train --model cnn`: per stage a 5x5 convolution, ReLU and 2x2 max pooling.
    c1, c2 = channels
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, c1, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(c1, c2, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(c2 * 16, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def timed(step, steps, repeats=3):
    for _ in range(5):
        step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


spec = json.loads(sys.argv[1])
if spec["task"] == "seed":
    seconds = timed(seed_network_step(spec["hidden"], spec["batch"]), spec["steps"])
elif spec["task"] == "cnn":
    seconds = timed(cnn_step(spec["channels"], spec["hidden"], spec["batch"]), spec["steps"])
else:
    seconds = timed(ff_step(spec["widths"], spec["batch"]), spec["steps"])
print(json.dumps({"secondsPerStep": seconds, "threads": torch.get_num_threads(), "version": torch.__version__}))
