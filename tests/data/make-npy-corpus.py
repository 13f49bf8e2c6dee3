#!/usr/bin/env python3
"""Writes the .npy test corpus: valid float32 arrays and one malformed file
per rule of sm-npy.c; expected.txt lists "ok" or an error fragment.
Standard library only (no NumPy needed).  Run from this folder."""
import struct

OUT = 'npy'
expected = []


def npy(descr, shape, data, fortran=False, version=1):
    shape_text = '(%s)' % ''.join('%d,' % d if len(shape) == 1 else '%d, ' % d for d in shape)
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, 'True' if fortran else 'False', shape_text)
    prefix = 10 if version == 1 else 12
    header += ' ' * ((64 - (prefix + len(header) + 1) % 64) % 64) + '\n'
    size = struct.pack('<H', len(header)) if version == 1 else struct.pack('<I', len(header))
    return b'\x93NUMPY' + bytes([version, 0]) + size + header.encode() + data


def f32(values):
    return struct.pack('<%df' % len(values), *values)


def write(name, blob, outcome):
    with open('%s/%s' % (OUT, name), 'wb') as f:
        f.write(blob)
    expected.append((name, outcome))


write('vector.npy', npy('<f4', [5], f32([0.5, -1, 2, 3.25, 0])), 'ok')
write('matrix.npy', npy('<f4', [3, 5], f32([i / 8 for i in range(15)])), 'ok')
write('matrix-v2.npy', npy('<f4', [2, 5], f32([1.0] * 10), version=2), 'ok')
write('empty-rows.npy', npy('<f4', [0, 5], b''), 'ok')
write('float64.npy', npy('<f8', [5], struct.pack('<5d', 1, 2, 3, 4, 5)), "'<f8'")
write('big-endian.npy', npy('>f4', [5], struct.pack('>5f', 1, 2, 3, 4, 5)), "'>f4'")
write('int32.npy', npy('<i4', [5], struct.pack('<5i', 1, 2, 3, 4, 5)), "'<i4'")
write('fortran.npy', npy('<f4', [3, 5], f32([0] * 15), fortran=True), 'Fortran order')
write('three-d.npy', npy('<f4', [2, 2, 2], f32([0] * 8)), 'more than 2 dimensions')
write('scalar.npy', npy('<f4', [], f32([1])), 'scalar')
write('truncated-data.npy', npy('<f4', [3, 5], f32([0] * 14)), 'should hold 60 bytes')
write('truncated-header.npy', npy('<f4', [5], f32([0] * 5))[:30], 'truncated')
write('bad-magic.npy', b'\x93NUMPZ\x01\x00' + b'\x00' * 80, 'magic')
write('no-shape.npy', b'\x93NUMPY\x01\x00' + struct.pack('<H', 54) + b"{'descr': '<f4', 'fortran_order': False, }".ljust(53) + b'\n', 'lacks')

with open('%s/expected.txt' % OUT, 'w') as f:
    f.write('# file<TAB>"ok" or a fragment of the error message; made by ../make-npy-corpus.py\n')
    for name, outcome in expected:
        f.write('%s\t%s\n' % (name, outcome))
