# Cross-checks chainrule's safetensors files against PyTorch, in both directions.
#
#   npx tsc -p . && node dist/scripts/write-safetensors-fixture.js   # chainrule-written.safetensors
#   /usr/bin/python3 scripts/make-safetensors-fixtures.py            # the rest, and the check
#
# Needs PyTorch (written against 1.13, Debian's python3-torch), which ships without the
# `safetensors` package, so this script writes and reads the format by hand with struct and json:
# an 8-byte little-endian header length, the JSON header padded with spaces to a multiple of 8,
# then each tensor's raw little-endian bytes. In test/fixtures/safetensors/ it
#   writes torch-written.safetensors and torch-written.expected.json (the values test/safetensors.test.ts
#          must read back, covering F32, F64, I32, I64, F16, BF16, U8 and a 0-d scalar);
#   reads  chainrule-written.safetensors and asserts its tensors and metadata with torch, printing OK.
# Everything is deterministic: rerunning reproduces the files byte for byte.

import json
import math
import os
import struct
import sys

import numpy as np
import torch

FIXTURES = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'safetensors')
)

DTYPE_CODES = {
    torch.float64: 'F64',
    torch.float32: 'F32',
    torch.float16: 'F16',
    torch.bfloat16: 'BF16',
    torch.int64: 'I64',
    torch.int32: 'I32',
    torch.uint8: 'U8',
}
NUMPY_DTYPES = {'F64': np.float64, 'F32': np.float32, 'I32': np.int32}


def torch_tensors():
    gen = torch.Generator().manual_seed(0)
    return {
        'conv.weight': torch.randn(2, 3, generator=gen, dtype=torch.float32),
        'running_var': torch.rand(4, generator=gen, dtype=torch.float64),
        'indices': torch.tensor([3, -7, 2147483647], dtype=torch.int32),
        'targets': torch.tensor([[1, 0], [9, -2147483648]], dtype=torch.int64),
        'step': torch.tensor(42, dtype=torch.int64),
        'half': torch.tensor([1.0, -2.5, 65504.0, 2.0 ** -24], dtype=torch.float16),
        'brain': torch.tensor([1.5, -3.140625, 1e30], dtype=torch.bfloat16),
        'pixels': torch.tensor([[0, 128], [255, 7]], dtype=torch.uint8),
    }


TORCH_METADATA = {'format': 'pt', 'config': json.dumps({'hidden': [128, 64], 'lr': 0.01})}


def raw_bytes(t):
    t = t.contiguous()
    # numpy has no bfloat16; its bits are the same as an int16 view.
    return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    payload = bytearray()
    for name, t in tensors.items():
        data = raw_bytes(t)
        header[name] = {
            'dtype': DTYPE_CODES[t.dtype],
            'shape': list(t.shape),
            'data_offsets': [len(payload), len(payload) + len(data)],
        }
        payload += data
    encoded = json.dumps(header, separators=(',', ':')).encode('utf-8')
    encoded += b' ' * (-len(encoded) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(encoded)) + encoded + payload)


def read_safetensors(path):
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    assert n % 8 == 0, f'header length {n} is not padded to a multiple of 8'
    header = json.loads(blob[8 : 8 + n].decode('utf-8'))
    data = blob[8 + n :]
    metadata = header.pop('__metadata__', {})
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        begin, end = info['data_offsets']
        assert begin == covered, f'{name}: gap or overlap at byte {begin}'
        covered = end
    assert covered == len(data), f'{len(data) - covered} trailing bytes'
    tensors = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        array = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPES[info['dtype']]).reshape(info['shape'])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def expected_chainrule_tensors():
    """Mirrors chainruleFixture() in scripts/write-safetensors-fixture.ts."""
    return {
        'dense.weight': torch.tensor([i * 0.1 - 0.55 for i in range(12)], dtype=torch.float32).reshape(3, 4),
        'dense.bias': torch.tensor([math.pi, -math.e, 1e-300, 1 / 3], dtype=torch.float64),
        'labels': torch.tensor([0, -1, 2147483647, -2147483648, 7], dtype=torch.int32),
        'scale': torch.tensor(0.5, dtype=torch.float32),
        'empty': torch.zeros(0, 3, dtype=torch.float32),
    }


EXPECTED_CHAINRULE_METADATA = {
    'chainrule': json.dumps(
        {'format': 1, 'normalization': {'kind': 'standardize', 'mean': 0.1307, 'std': 0.3081}},
        separators=(',', ':'),
    ),
    'note': 'π ≈ 3.14159, non-ASCII on purpose',
}


def main():
    assert sys.byteorder == 'little', 'safetensors is little-endian; this script writes host-order bytes'

    tensors = torch_tensors()
    write_safetensors(os.path.join(FIXTURES, 'torch-written.safetensors'), tensors, TORCH_METADATA)
    expected = {
        'metadata': TORCH_METADATA,
        'tensors': {
            name: {
                'dtype': DTYPE_CODES[t.dtype],
                'shape': list(t.shape),
                # Widened to float64 / int64 exactly, so JSON carries every value without rounding.
                'values': t.reshape(-1).to(torch.float64 if t.is_floating_point() else torch.int64).tolist(),
            }
            for name, t in tensors.items()
        },
    }
    with open(os.path.join(FIXTURES, 'torch-written.expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    print('wrote torch-written.safetensors and torch-written.expected.json')

    ours = os.path.join(FIXTURES, 'chainrule-written.safetensors')
    if not os.path.exists(ours):
        sys.exit(f'{ours} is missing: run `npx tsc -p . && node dist/scripts/write-safetensors-fixture.js` first')
    got, metadata = read_safetensors(ours)
    want = expected_chainrule_tensors()
    assert sorted(got) == sorted(want), f'tensor names {sorted(got)} != {sorted(want)}'
    for name, t in want.items():
        assert got[name].dtype == t.dtype, f'{name}: dtype {got[name].dtype} != {t.dtype}'
        assert got[name].shape == t.shape, f'{name}: shape {tuple(got[name].shape)} != {tuple(t.shape)}'
        assert torch.equal(got[name], t), f'{name}: values differ\n{got[name]}\n{t}'
    assert metadata == EXPECTED_CHAINRULE_METADATA, f'metadata {metadata} != {EXPECTED_CHAINRULE_METADATA}'
    print(f'OK: torch reads {len(got)} tensors and the metadata of chainrule-written.safetensors exactly')


if __name__ == '__main__':
    main()
