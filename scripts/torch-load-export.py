# Loads the files `chainrule export` writes into the equivalent torch.nn modules with
# load_state_dict(strict=True) and runs them, so test/export.test.ts can compare PyTorch's
# outputs with chainrule's. Run by that test when /usr/bin/python3 (Debian's python3-torch) is
# present, or by hand:
#
#   /usr/bin/python3 scripts/torch-load-export.py DIR
#
# DIR holds NAME.safetensors (an export) and NAME.input.json ({"shape": [n, f], "x": [...]});
# the script builds each module from the constructor the export stores in its metadata
# ('module') and prints one JSON object: per NAME, the module's outputs for that input, flattened.
# bp and fg give logits; ff gives its head's logits on the neutral label ("softmax") and the
# goodness of each label summed over the read-out layers ("goodness").

import importlib.util
import json
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('fixtures', os.path.join(HERE, 'make-safetensors-fixtures.py'))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)

RMS_EPSILON = 1e-8


def rms_normalize(h):
    return h / (h.pow(2).mean(1, keepdim=True).sqrt() + RMS_EPSILON)


def ff_outputs(net, x, config):
    classes, value, start = config['classes'], config['labelValue'], config['readoutFrom'] - 1

    def activities(labels):
        h = x.clone()
        h[:, :classes] = value / classes if labels is None else nn.functional.one_hot(labels, classes) * value
        out = []
        for layer in net['layers']:
            h = torch.relu(layer(rms_normalize(h)))
            out.append(h)
        return out[start:]

    def goodness(a):
        return a.pow(2).sum(1) if config['goodness'] == 'sum' else a.pow(2).mean(1)

    head = net['head'](torch.cat([rms_normalize(a) for a in activities(None)], 1))
    per_label = torch.stack(
        [sum(goodness(a) for a in activities(torch.full((x.shape[0],), c))) for c in range(classes)], 1
    )
    return {'softmax': head.flatten().tolist(), 'goodness': per_label.flatten().tolist()}


def main(folder):
    results = {}
    for name in sorted(f[: -len('.input.json')] for f in os.listdir(folder) if f.endswith('.input.json')):
        with open(os.path.join(folder, f'{name}.input.json')) as f:
            given = json.load(f)
        tensors, metadata = fixtures.read_safetensors(os.path.join(folder, f'{name}.safetensors'))
        algorithm = json.loads(metadata['algorithm'])
        # The constructor `chainrule export` printed and stored; these files are the test's own.
        net = eval(metadata['module'], {'nn': nn})
        net.load_state_dict(tensors, strict=True)
        net.eval()
        x = torch.tensor(given['x'], dtype=torch.float32).reshape(given['shape'])
        with torch.no_grad():
            if algorithm == 'ff':
                settings = {**json.loads(metadata['hyperparameters']), **json.loads(metadata['architecture'])}
                results[name] = ff_outputs(net, x, settings)
            else:
                results[name] = {'logits': net(x).flatten().tolist()}
    print(json.dumps(results))


if __name__ == '__main__':
    main(sys.argv[1])
