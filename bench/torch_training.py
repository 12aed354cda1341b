# PyTorch's side of bench/training.ts: the same training steps, timed the same way.
# Run by the benchmark with Debian's /usr/bin/python3 (python3-torch + libopenblas0); prints JSON.
# torch keeps its default threading unless the spec sets "threads" (the caller then also holds
# OpenBLAS to one thread through the environment).
#
#   /usr/bin/python3 bench/torch_training.py '{"task": "seed", "hidden": 1024, "batch": 128}'

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


def ff_step(widths, batch, classes=10, label_value=1.0, theta=1.0, temperature=0.1, peer=0.03, readout_from=2):
    # One Forward-Forward update doing the work of chainrule's (src/learn/ff.ts, default preset
    # with these widths): a neutral-label pass without grad feeding a softmax head over the
    # length-normalised activities of layers readout_from..L, hard negatives drawn from the
    # head's predictions, then per layer on the positive and negative rows together: length
    # normalisation, ReLU, mean goodness, the softplus loss, the peer-normalisation penalty and a
    # backward pass; one Adam step over every parameter at the end.
    layers = [torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
    head = torch.nn.Linear(sum(widths[readout_from:]), classes)
    params = [p for layer in layers for p in layer.parameters()] + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    peer_means = [torch.zeros(w) for w in widths[1:]]
    x = torch.randn(batch, widths[0])
    y = torch.randint(0, classes, (batch,))
    rows = torch.arange(batch)

    def rms_normalize(h):
        return h / (h.pow(2).mean(1, keepdim=True).sqrt() + 1e-8)

    def labelled(label_sets):
        out = x.repeat(len(label_sets), 1)
        for s, labels in enumerate(label_sets):
            part = out[s * batch : (s + 1) * batch, :classes]
            if labels is None:
                part.fill_(label_value / classes)
            else:
                part.copy_(F.one_hot(labels, classes) * label_value)
        return out

    def step():
        opt.zero_grad()
        with torch.no_grad():
            h, activities = labelled([None]), []
            for layer in layers:
                h = torch.relu(layer(rms_normalize(h)))
                activities.append(h)
        logits = head(torch.cat([rms_normalize(a) for a in activities[readout_from - 1 :]], 1))
        head_loss = F.cross_entropy(logits, y)
        head_loss.backward()
        loss = head_loss.item()
        with torch.no_grad():
            wrong = logits.detach().clone()
            wrong[rows, y] = float("-inf")
            negatives = torch.multinomial(wrong.softmax(1), 1).squeeze(1)
        h = labelled([y, negatives])
        for i, layer in enumerate(layers):
            activity = torch.relu(layer(rms_normalize(h)))
            margin = (activity.pow(2).mean(1) - theta) / temperature
            layer_loss = F.softplus(-margin[:batch]).mean() + F.softplus(margin[batch:]).mean()
            batch_mean = activity[:batch].mean(0)
            with torch.no_grad():
                peer_means[i].mul_(0.9).add_(0.1 * batch_mean)
                pull = peer_means[i].mean() - peer_means[i]
            layer_loss = layer_loss - peer * (batch_mean * pull).sum()
            layer_loss.backward()
            loss += layer_loss.item()
            h = activity.detach()
        opt.step()
        return loss

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


def timed(step, repeats=3):
    # Timed like bench/training.ts: a warm-up of at least three steps and a second, then runs of
    # about half a second each.
    start, warm_steps = time.perf_counter(), 0
    while warm_steps < 3 or time.perf_counter() - start < 1:
        step()
        warm_steps += 1
    estimate = (time.perf_counter() - start) / warm_steps
    steps = min(50, max(2, round(0.5 / estimate)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


spec = json.loads(sys.argv[1])
if spec.get("threads"):
    torch.set_num_threads(spec["threads"])
if spec["task"] == "seed":
    seconds = timed(seed_network_step(spec["hidden"], spec["batch"]))
elif spec["task"] == "cnn":
    seconds = timed(cnn_step(spec["channels"], spec["hidden"], spec["batch"]))
else:
    seconds = timed(ff_step(spec["widths"], spec["batch"]))
print(json.dumps({"secondsPerStep": seconds, "threads": torch.get_num_threads(), "version": torch.__version__}))
