# Regenerates the PyTorch parity fixtures that test/parity.test.ts checks chainrule against.
#
#   /usr/bin/python3 scripts/make-parity-fixtures.py
#
# Needs PyTorch (written against 1.13; Debian's python3-torch). It writes, into
# test/fixtures/parity/:
#   manifest.json   the configurations, labels, lr schedules, and for each dtype an index of
#                   tensors: name -> {"offset": element offset, "shape": [...]}
#   float32.bin     the float32 tensors, raw little-endian, concatenated
#   float64.bin     the same computations run in float64 (torch.set_default_dtype)
# The test reads only these files, so it needs no Python. Everything is seeded: rerunning the
# script reproduces the files byte for byte on the same torch build.

import json
import os
import sys

import torch
from torch import nn

OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'parity'))

BATCH, IN, HIDDEN, CLASSES = 16, 20, 12, 5

OPTIMIZERS = {
    'sgd_nesterov': ('SGD', dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    'sgd_dampening': ('SGD', dict(lr=0.05, momentum=0.8, dampening=0.1)),
    'adam': ('Adam', dict(lr=1e-2)),
    'adam_weight_decay': ('Adam', dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    'adamw': ('AdamW', dict(lr=1e-2, weight_decay=0.1)),
}

STATE_NAMES = ('momentum_buffer', 'exp_avg', 'exp_avg_sq')


def seed_net(first_bias=True):
    return nn.Sequential(
        nn.Linear(IN, HIDDEN, bias=first_bias), nn.BatchNorm1d(HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CLASSES)
    )


def layer_norm_net():
    return nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.LayerNorm(HIDDEN),
        nn.Softplus(),
        nn.Linear(HIDDEN, 8),
        nn.Sigmoid(),
        nn.Linear(8, CLASSES),
    )


class Recorder:
    def __init__(self):
        self.index = {}
        self.chunks = []
        self.offset = 0

    def add_tensor(self, name, t):
        t = t.detach()
        self.index[name] = {'offset': self.offset, 'shape': list(t.shape)}
        values = t.to(torch.get_default_dtype()).contiguous().reshape(-1).numpy()
        self.chunks.append(values.astype(values.dtype.newbyteorder('<')).tobytes())
        self.offset += t.numel()

    def add_state(self, prefix, module):
        for name, t in module.state_dict().items():
            self.add_tensor(f'{prefix}/{name}', t)


def add_optimizer_state(rec, prefix, net, opt):
    names = [n for n, _ in net.named_parameters()]
    for index, per_param in opt.state_dict()['state'].items():
        for key in STATE_NAMES:
            if key in per_param:
                rec.add_tensor(f'{prefix}/state/{names[index]}/{key}', per_param[key])


def train_step(net, x, labels, loss_fn):
    net.zero_grad(set_to_none=True)
    loss = loss_fn(net(x), labels)
    loss.backward()
    return loss


def record_network(rec, name, make_net, loss_fn, x, target):
    torch.manual_seed(1)
    net = make_net()
    rec.add_state(f'{name}/init', net)
    loss = train_step(net, x, target, loss_fn)
    rec.add_tensor(f'{name}/loss', loss)
    for pname, p in net.named_parameters():
        rec.add_tensor(f'{name}/grad/{pname}', p.grad)
    rec.add_state(f'{name}/after_forward', net)
    net.eval()
    with torch.no_grad():
        rec.add_tensor(f'{name}/eval_output', net(x))


# A bias right before BatchNorm gets a zero gradient (the normalisation removes any constant),
# computed as rounding noise that Adam's normalised step would amplify into steps of arbitrary
# sign. The optimiser fixtures therefore use the network without it, as is usual in practice.
def record_optimizers(rec, x, labels):
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(1)
    rec.add_state('optimizer_net/init', seed_net(first_bias=False))
    for key, (kind, options) in OPTIMIZERS.items():
        torch.manual_seed(1)
        net = seed_net(first_bias=False)
        opt = getattr(torch.optim, kind)(net.parameters(), **options)
        for step in (1, 2):
            train_step(net, x, labels, loss_fn)
            opt.step()
            rec.add_state(f'optimizer_net/{key}/step{step}', net)
            add_optimizer_state(rec, f'optimizer_net/{key}/step{step}', net, opt)


def lr_sequence(make_optimizer, make_scheduler, steps, momentum_key=None):
    opt = make_optimizer()
    sched = make_scheduler(opt)
    lrs, momenta = [sched.get_last_lr()[0]], []

    def momentum():
        group = opt.param_groups[0]
        return group['betas'][0] if momentum_key == 'betas' else group['momentum']

    if momentum_key:
        momenta.append(momentum())
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        if momentum_key:
            momenta.append(momentum())
    out = {'lr': lrs}
    if momentum_key:
        out['momentum'] = momenta
    return out


def schedules():
    from torch.optim import lr_scheduler as S

    param = [nn.Parameter(torch.zeros(1))]

    def sgd(lr=0.1, momentum=0.0):
        return lambda: torch.optim.SGD(param, lr=lr, momentum=momentum)

    def adam(lr=1e-3):
        return lambda: torch.optim.Adam(param, lr=lr, betas=(0.9, 0.999))

    return {
        'step_lr': {
            'optimizer': {'kind': 'SGD', 'lr': 0.1},
            'scheduler': {'kind': 'StepLR', 'stepSize': 3, 'gamma': 0.5},
            **lr_sequence(sgd(), lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12),
        },
        'cosine': {
            'optimizer': {'kind': 'SGD', 'lr': 0.1},
            'scheduler': {'kind': 'CosineAnnealingLR', 'tMax': 10, 'etaMin': 1e-3},
            **lr_sequence(sgd(), lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 25),
        },
        'linear_warmup': {
            'optimizer': {'kind': 'SGD', 'lr': 0.1},
            'scheduler': {'kind': 'LinearLR', 'startFactor': 0.25, 'endFactor': 1.0, 'totalIters': 4},
            **lr_sequence(sgd(), lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4), 8),
        },
        'linear_decay': {
            'optimizer': {'kind': 'SGD', 'lr': 0.1},
            'scheduler': {'kind': 'LinearLR', 'startFactor': 1.0, 'endFactor': 0.0, 'totalIters': 10},
            **lr_sequence(sgd(), lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=10), 10),
        },
        'one_cycle_adam_cos': {
            'optimizer': {'kind': 'Adam', 'lr': 1e-3},
            'scheduler': {'kind': 'OneCycleLR', 'maxLr': 0.1, 'totalSteps': 20},
            **lr_sequence(adam(), lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=20), 20, 'betas'),
        },
        'one_cycle_sgd_linear': {
            'optimizer': {'kind': 'SGD', 'lr': 0.1, 'momentum': 0.9},
            'scheduler': {
                'kind': 'OneCycleLR',
                'maxLr': 0.5,
                'totalSteps': 15,
                'pctStart': 0.25,
                'anneal': 'linear',
                'divFactor': 10.0,
                'finalDivFactor': 100.0,
            },
            **lr_sequence(
                sgd(momentum=0.9),
                lambda o: S.OneCycleLR(
                    o,
                    max_lr=0.5,
                    total_steps=15,
                    pct_start=0.25,
                    anneal_strategy='linear',
                    div_factor=10.0,
                    final_div_factor=100.0,
                ),
                15,
                'momentum',
            ),
        },
    }


def generate(dtype, labels):
    torch.set_default_dtype(dtype)
    rec = Recorder()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, IN, generator=gen)
    regression_target = torch.rand(BATCH, CLASSES, generator=gen)
    rec.add_tensor('input', x)
    rec.add_tensor('regression_target', regression_target)
    record_network(rec, 'seed', seed_net, nn.CrossEntropyLoss(), x, labels)
    record_network(rec, 'layer_norm', layer_norm_net, nn.MSELoss(), x, regression_target)
    record_optimizers(rec, x, labels)
    return rec


def camel_case(options):
    def convert(name):
        head, *rest = name.split('_')
        return head + ''.join(word.capitalize() for word in rest)

    return {convert(k): v for k, v in options.items()}


def write_atomically(name, data):
    path = os.path.join(OUT_DIR, name)
    with open(path + '.tmp', 'wb') as f:
        f.write(data)
    os.replace(path + '.tmp', path)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    manifest = {
        'generator': f'scripts/make-parity-fixtures.py with torch {torch.__version__}',
        'optimizers': {key: {'kind': kind, **camel_case(opts)} for key, (kind, opts) in OPTIMIZERS.items()},
        'schedules': schedules(),
    }
    labels = torch.randint(0, CLASSES, (BATCH,), generator=torch.Generator().manual_seed(0))
    manifest['labels'] = labels.tolist()
    for name, dtype in (('float32', torch.float32), ('float64', torch.float64)):
        rec = generate(dtype, labels)
        manifest[name] = rec.index
        write_atomically(f'{name}.bin', b''.join(rec.chunks))
    write_atomically('manifest.json', (json.dumps(manifest, indent=1) + '\n').encode())
    size = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in os.listdir(OUT_DIR))
    print(f'wrote {OUT_DIR} ({size} bytes)', file=sys.stderr)


if __name__ == '__main__':
    main()
