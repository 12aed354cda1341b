# Regenerates the PyTorch fixtures that test/conv-parity.test.ts checks chainrule's spatial ops
# and layers against, and checks chainrule's own spatial network file with torch.
#
#   npx tsc -p . && node dist/scripts/write-conv-fixture.js   # chainrule-written.safetensors
#   /usr/bin/python3 scripts/make-conv-fixtures.py           # the torch files, and the check
#
# Needs PyTorch (written against 1.13, Debian's python3-torch). In test/fixtures/conv/ it
#   writes torch-float32.safetensors and torch-float64.safetensors: for each configuration of
#          conv2d (stride, padding, dilation, groups), max and average pooling, unfold, fold and
#          a locally connected map, its inputs, output, a cotangent with every input's gradient,
#          and tangents with the output's tangent; and a small CNN (Conv2d, MaxPool2d, grouped
#          Conv2d, AvgPool2d, Flatten, Linear) with its state dict, a batch, its logits and the
#          gradient of the cross-entropy for every parameter. The configurations are JSON in the
#          files' metadata.
#   reads  chainrule-written.safetensors (the same CNN, initialised and run by chainrule), loads
#          its state dict into torch's network and checks torch's logits against chainrule's.
# Everything is seeded: rerunning reproduces the files byte for byte on the same torch build.

import importlib.util
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, '..', 'test', 'fixtures', 'conv'))

# The safetensors reader and writer of the safetensors fixtures (torch 1.13 ships neither).
_spec = importlib.util.spec_from_file_location('safetensors_fixtures', os.path.join(HERE, 'make-safetensors-fixtures.py'))
safetensors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(safetensors)

CONV = [
    dict(name='plain', x=[2, 3, 7, 6], w=[4, 3, 3, 3]),
    dict(name='stride', x=[2, 3, 9, 8], w=[5, 3, 3, 2], stride=[2, 3]),
    dict(name='padding', x=[2, 2, 5, 6], w=[3, 2, 3, 3], padding=[1, 2]),
    dict(name='dilation', x=[1, 3, 9, 9], w=[2, 3, 3, 3], dilation=[2, 1], padding=1),
    dict(name='groups', x=[2, 6, 6, 5], w=[9, 2, 3, 3], groups=3, stride=2, padding=1),
    dict(name='depthwise', x=[2, 4, 5, 5], w=[4, 1, 3, 3], groups=4, bias=False),
]
MAX_POOL = [
    dict(name='kernel2', x=[2, 3, 6, 8], kernel=2),
    dict(name='overlap', x=[2, 3, 7, 8], kernel=3, stride=2, padding=1),
    dict(name='dilated', x=[1, 2, 9, 9], kernel=[2, 3], stride=[1, 2], dilation=2),
]
AVG_POOL = [
    dict(name='kernel2', x=[2, 3, 6, 8], kernel=2),
    dict(name='overlap', x=[2, 3, 7, 8], kernel=3, stride=2, padding=1),
    dict(name='rectangular', x=[1, 2, 7, 9], kernel=[2, 3], stride=1),
]
UNFOLD = [dict(name='all', x=[2, 3, 6, 7], kernel=[2, 3], stride=[2, 1], padding=1, dilation=[1, 2])]
FOLD = [dict(name='all', size=[6, 7], kernel=[2, 3], stride=[2, 1], padding=1, dilation=[1, 2], channels=3, batch=2)]
LOCAL = [
    dict(name='plain', x=[2, 3, 6, 5], out=4, kernel=3),
    dict(name='strided', x=[2, 2, 7, 7], out=3, kernel=[3, 2], stride=2, padding=1),
]
MODEL = dict(x=[3, 1, 12, 12], classes=5, labels=[0, 3, 4])


def window(c, *keys):
    return {k: c[k] for k in keys if k in c}


def locally_connected(x, w, b, stride=1, padding=0, dilation=1):
    """chainrule's locally connected map: weight [outH, outW, out, in, kh, kw], bias [out, outH, outW]."""
    out_h, out_w, out, _, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)  # [N, K, L]
    y = torch.einsum('lok,nkl->nol', w.reshape(out_h * out_w, out, -1), cols)
    return y.reshape(x.shape[0], out, out_h, out_w) + b


def local_shape(c):
    pair = lambda v: v if isinstance(v, list) else [v, v]
    k, s, p = pair(c['kernel']), pair(c.get('stride', 1)), pair(c.get('padding', 0))
    out_h = (c['x'][2] + 2 * p[0] - k[0]) // s[0] + 1
    out_w = (c['x'][3] + 2 * p[1] - k[1]) // s[1] + 1
    return [out_h, out_w, c['out'], c['x'][1], *k]


def record(rec, prefix, fn, inputs, gen):
    """Records inputs, fn's output, a cotangent and every input's gradient, tangents and the output's tangent."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    c = torch.randn(y.shape, generator=gen)
    (y * c).sum().backward()
    tangents = {k: torch.randn(v.shape, generator=gen) for k, v in inputs.items()}
    names = list(inputs)
    _, ty = torch.autograd.functional.jvp(
        lambda *xs: fn(**dict(zip(names, xs))), tuple(inputs[k] for k in names), tuple(tangents[k] for k in names)
    )
    for k, v in inputs.items():
        rec[f'{prefix}/{k}'] = v
        rec[f'{prefix}/grad.{k}'] = leaves[k].grad
        rec[f'{prefix}/tangent.{k}'] = tangents[k]
    rec[f'{prefix}/y'] = y.detach()
    rec[f'{prefix}/cotangent'] = c
    rec[f'{prefix}/tangent.y'] = ty.detach()


def model():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, groups=2),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, MODEL['classes']),
    )


def fixtures(dtype):
    torch.set_default_dtype(dtype)
    gen = torch.Generator().manual_seed(10)
    randn = lambda shape: torch.randn(shape, generator=gen)
    rec = {}
    for c in CONV:
        inputs = dict(x=randn(c['x']), w=randn(c['w']))
        if c.get('bias', True):
            inputs['b'] = randn([c['w'][0]])
        opts = window(c, 'stride', 'padding', 'dilation', 'groups')
        record(rec, f'conv2d/{c["name"]}', lambda x, w, b=None: F.conv2d(x, w, b, **opts), inputs, gen)
    for c in MAX_POOL:
        # Distinct values: no ties, so the argmax (and with it the gradient) is unambiguous.
        x = torch.randperm(torch.Size(c['x']).numel(), generator=gen).to(dtype).reshape(c['x']) / 10
        opts = window(c, 'stride', 'padding', 'dilation')
        record(rec, f'maxPool2d/{c["name"]}', lambda x: F.max_pool2d(x, c['kernel'], **opts), dict(x=x), gen)
    for c in AVG_POOL:
        opts = window(c, 'stride', 'padding')
        record(rec, f'avgPool2d/{c["name"]}', lambda x: F.avg_pool2d(x, c['kernel'], **opts), dict(x=randn(c['x'])), gen)
    for c in UNFOLD:
        opts = window(c, 'stride', 'padding', 'dilation')
        record(rec, f'unfold/{c["name"]}', lambda x: F.unfold(x, c['kernel'], **opts), dict(x=randn(c['x'])), gen)
    for c in FOLD:
        opts = window(c, 'stride', 'padding', 'dilation')
        positions = F.unfold(torch.zeros(1, 1, *c['size']), c['kernel'], **opts).shape[2]
        cols = randn([c['batch'], c['channels'] * c['kernel'][0] * c['kernel'][1], positions])
        record(rec, f'fold/{c["name"]}', lambda x: F.fold(x, c['size'], c['kernel'], **opts), dict(x=cols), gen)
    for c in LOCAL:
        shape = local_shape(c)
        inputs = dict(x=randn(c['x']), w=randn(shape), b=randn([c['out'], shape[0], shape[1]]))
        opts = window(c, 'stride', 'padding')
        record(rec, f'locallyConnected2d/{c["name"]}', lambda x, w, b: locally_connected(x, w, b, **opts), inputs, gen)

    torch.manual_seed(11)
    net = model()
    for k, v in net.state_dict().items():
        rec[f'model/{k}'] = v
    x = randn(MODEL['x'])
    logits = net(x)
    F.cross_entropy(logits, torch.tensor(MODEL['labels'])).backward()
    rec['model/x'] = x
    rec['model/logits'] = logits.detach()
    for k, p in net.named_parameters():
        rec[f'model/grad.{k}'] = p.grad
    return {k: v.detach().contiguous() for k, v in rec.items()}


def main():
    assert sys.byteorder == 'little', 'safetensors is little-endian; this script writes host-order bytes'
    configs = dict(
        conv2d=CONV, maxPool2d=MAX_POOL, avgPool2d=AVG_POOL, unfold=UNFOLD, fold=FOLD, locallyConnected2d=LOCAL, model=MODEL
    )
    metadata = {'configs': json.dumps(configs, separators=(',', ':'))}
    for dtype, name in ((torch.float32, 'float32'), (torch.float64, 'float64')):
        path = os.path.join(FIXTURES, f'torch-{name}.safetensors')
        safetensors.write_safetensors(path, fixtures(dtype), metadata)
        print(f'wrote {path}')
    torch.set_default_dtype(torch.float32)

    ours = os.path.join(FIXTURES, 'chainrule-written.safetensors')
    if not os.path.exists(ours):
        sys.exit(f'{ours} is missing: run `npx tsc -p . && node dist/scripts/write-conv-fixture.js` first')
    tensors, _ = safetensors.read_safetensors(ours)
    net = model()
    net.load_state_dict({k[len('model.') :]: v for k, v in tensors.items() if k.startswith('model.')}, strict=True)
    logits = net(tensors['x'])
    error = ((logits - tensors['logits']).abs().max() / tensors['logits'].abs().max()).item()
    assert error < 1e-5, f'torch and chainrule logits differ by {error} (relative)'
    print(f'OK: torch loads chainrule-written.safetensors into nn.Sequential and reproduces its logits (error {error:.1e})')


if __name__ == '__main__':
    main()
