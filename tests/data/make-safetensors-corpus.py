#!/usr/bin/env python3
"""Writes the safetensors test corpus: a few valid files laid out as
safetensors.torch.save_file() writes an nn.Sequential, and one malformed file
per way a file can be wrong.  expected.txt lists, for every file, "ok" or
the fragment the error message must contain.  Standard library only.

Run from this folder: ./make-safetensors-corpus.py (the output is committed).
"""
import json
import math
import struct

OUT = 'safetensors'
expected = []


def weight(o, i, scale):
    # Exactly representable in F16, BF16 and F32: multiples of 1/8 in [-5/8, 5/8].
    return ((o * 7 + i * 3) % 11 - 5) / 8 * scale


def pack(values, dtype):
    if dtype == 'F32':
        return struct.pack('<%df' % len(values), *values)
    if dtype == 'F16':
        return struct.pack('<%de' % len(values), *values)
    if dtype == 'BF16':
        return b''.join(struct.pack('<f', v)[2:] for v in values)
    raise ValueError(dtype)


def serialize(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes), stored in order."""
    header, data = {}, b''
    if metadata is not None:
        header['__metadata__'] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {'dtype': dtype, 'shape': shape,
                        'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(',', ':')).encode()
    if pad:
        text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + data


def sequential(dtype, sizes=(5, 4, 3), prefix=''):
    tensors = []
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        w = [weight(o, i, 1.0) for o in range(fan_out) for i in range(fan_in)]
        b = [weight(o, 0, 0.5) for o in range(fan_out)]
        tensors.append(('%s%d.weight' % (prefix, 2 * l), dtype, [fan_out, fan_in], pack(w, dtype)))
        tensors.append(('%s%d.bias' % (prefix, 2 * l), dtype, [fan_out], pack(b, dtype)))
    return tensors


def write(name, blob, outcome):
    with open('%s/%s' % (OUT, name), 'wb') as f:
        f.write(blob)
    expected.append((name, outcome))


# Valid: nn.Sequential(Linear(5, 4), ReLU(), Linear(4, 3)) in three dtypes.
for dtype in ('F32', 'F16', 'BF16'):
    write('sequential-%s.safetensors' % dtype.lower(), serialize(sequential(dtype)), 'ok')
write('sequential-metadata.safetensors',
      serialize(sequential('F32'), {'synmesh.activations': 'tanh,sigmoid', 'format': 'pt'}), 'ok')
write('experts-two.safetensors',
      serialize(sequential('F32', prefix='experts.coding.') + sequential('F32', (6, 2), 'experts.context.')),
      'ok')

good = serialize(sequential('F32'))

# Malformed, one fault each.
write('empty.safetensors', b'', 'too short')
write('truncated-length.safetensors', good[:5], 'too short')
write('truncated-header.safetensors', good[:40], 'truncated')
write('truncated-data.safetensors', good[:-3], 'outside')
write('header-huge.safetensors', struct.pack('<Q', 1 << 62) + b'{}', 'not a model header')
write('header-not-json.safetensors', struct.pack('<Q', 7) + b'{"a":}x', 'not valid JSON')
write('header-not-object.safetensors', struct.pack('<Q', 2) + b'[]', 'not a JSON object')
write('header-not-utf8.safetensors', struct.pack('<Q', 4) + b'{\xff}\x00', 'UTF-8')
write('no-tensors.safetensors', serialize([]), 'no tensors')
t = sequential('F32')
write('dtype-unknown.safetensors', serialize([(t[0][0], 'I8', t[0][2], t[0][3])] + t[1:]), 'not supported')
write('dtype-f64.safetensors', serialize([(t[0][0], 'F64', [4, 5], b'\0' * 160)] + t[1:]), 'not supported')
HEADER_LEN = struct.unpack('<Q', good[:8])[0]
GOOD_DATA = good[8 + HEADER_LEN:]


def good_header():
    return json.loads(good[8:8 + HEADER_LEN])


def with_header(header, data=GOOD_DATA):
    text = json.dumps(header).encode()
    return struct.pack('<Q', len(text)) + text + data


def edited(field, tensor, value):
    header = good_header()
    header[tensor][field] = value
    return with_header(header)


write('offsets-out-of-range.safetensors', edited('data_offsets', '0.weight', [0, 10 ** 9]), 'outside')
write('offsets-overlap.safetensors', edited('data_offsets', '0.bias', [0, 16]), 'overlap')
write('offsets-negative.safetensors', edited('data_offsets', '0.weight', [-4, 76]), 'data_offsets')
write('shape-bytes-mismatch.safetensors', edited('shape', '0.weight', [4, 6]), 'bytes of data for')
write('shape-absurd.safetensors', edited('shape', '0.weight', [1 << 40, 1]), 'dimension 0')
write('elements-absurd.safetensors', edited('shape', '0.weight', [65536, 65536]), 'absurd size')
write('shape-not-array.safetensors', edited('shape', '0.weight', 'big'), 'no shape')
write('metadata-not-string.safetensors', serialize(sequential('F32'), {'synmesh.activations': 3}), 'not a string')
write('activations-count.safetensors', serialize(sequential('F32'), {'synmesh.activations': 'relu'}), 'activations for')
write('activation-unknown.safetensors', serialize(sequential('F32'), {'synmesh.activations': 'relu,swish'}), 'unknown activation')
write('shapes-do-not-chain.safetensors', serialize(sequential('F32', (5, 4)) + [
    ('2.weight', 'F32', [3, 5], pack([0.5] * 15, 'F32')), ('2.bias', 'F32', [3], pack([0.0] * 3, 'F32'))]),
    'do not chain')
nan = sequential('F32')
nan[0] = (nan[0][0], 'F32', nan[0][2], pack([float('nan')] + [0.5] * 19, 'F32'))
write('weight-nan.safetensors', serialize(nan), 'NaN')
inf = sequential('F16')
inf[2] = (inf[2][0], 'F16', inf[2][2], b'\x00\x7c' + pack([0.5] * 11, 'F16'))
write('weight-inf-f16.safetensors', serialize(inf), 'infinite')
write('weight-3d.safetensors', serialize([('0.weight', 'F32', [2, 2, 1], pack([0.5] * 4, 'F32'))]), '2-D')
write('bias-wrong-size.safetensors', serialize([('0.weight', 'F32', [2, 3], pack([0.5] * 6, 'F32')),
                                                ('0.bias', 'F32', [3], pack([0.5] * 3, 'F32'))]), 'one per output')
write('bias-without-weight.safetensors', serialize([('0.bias', 'F32', [3], pack([0.5] * 3, 'F32'))]),
      'no weight')
write('unexpected-name.safetensors', serialize([('encoder.weight', 'F32', [2, 2], pack([0.5] * 4, 'F32'))]),
      'Unexpected tensor')
write('mixed-single-and-experts.safetensors',
      serialize(sequential('F32') + sequential('F32', prefix='experts.coding.')), 'mixes')

# Structure-aware cases: what a JSON parser sees before the model checks do.
def raw_header(text, data=GOOD_DATA):
    return struct.pack('<Q', len(text)) + text + data


GOOD_TEXT = json.dumps(good_header()).encode()
write('header-deep-arrays.safetensors', raw_header(b'[' * 100000 + b']' * 100000), 'nests deeper')
write('header-deep-objects.safetensors', raw_header(b'{"a":' * 50000 + b'1' + b'}' * 50000), 'nests deeper')
write('shape-nested.safetensors', edited('shape', '0.weight', [[4], [5]]), 'nests deeper')
write('name-twice.safetensors',
      raw_header(GOOD_TEXT[:-1] + b', "0.bias": {"dtype": "F32", "shape": [4], "data_offsets": [80, 96]}}'),
      'names “0.bias” twice')
write('name-twice-escaped.safetensors',
      raw_header(GOOD_TEXT[:-1] + b', "0.bi\\u0061s": {"dtype": "F32", "shape": [4], "data_offsets": [80, 96]}}'),
      'different escapes')
write('number-huge-float.safetensors', raw_header(GOOD_TEXT.replace(b'"shape": [4, 5]', b'"shape": [1e400, 5]')),
      'dimension 0')
write('number-huge-int.safetensors', raw_header(GOOD_TEXT.replace(b'"shape": [4, 5]', b'"shape": [99999999999999999999999, 5]')),
      'dimension 0')
write('number-negative.safetensors', edited('shape', '0.weight', [-4, 5]), 'dimension 0')
write('number-fraction.safetensors', edited('data_offsets', '0.weight', [0.5, 80]), 'data_offsets')
write('name-long.safetensors', serialize([('x' * 100000, 'F32', [2, 2], pack([0.5] * 4, 'F32'))]), 'at most 256')
write('metadata-nested.safetensors', raw_header(b'{"__metadata__": {"a": {"b": "c"}}}'), 'not a string')

with open('%s/expected.txt' % OUT, 'w') as f:
    f.write('# file<TAB>"ok" or a fragment of the error message; made by ../make-safetensors-corpus.py\n')
    for name, outcome in expected:
        f.write('%s\t%s\n' % (name, outcome))
