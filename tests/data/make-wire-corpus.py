#!/usr/bin/env python3
"""Writes the mesh wire corpus from docs/protocol.md alone (an encoder
independent of sm-wire.c): valid messages of every type and one refusal
per rule.  Each seed is framed as the fuzz target reads it: a 2-byte
little-endian envelope length, the envelope, then the tensor frame.
expected.txt lists "ok" or the SmWireStatus the decoder must answer;
node.txt what a node answers when a client that said HELLO with the
node's model (the standard preset: input width 256, experts 0-5) sends
the seed: HELLO, PONG, INFER_REPLY, the status of its ERROR, or none.
Standard library only.  Run from this folder."""
import struct

OUT = 'wire'
MAGIC = 0x48534d53
HELLO, PING, PONG, INFER_REQUEST, INFER_REPLY, ERROR, METRICS, BYE = range(1, 9)
VERSION = 2
WIDTH = 256                      # the standard preset's input width
FLAG_TENSOR = 1
expected = []
node_answers = []
# What a server answers each valid message with (docs/protocol.md,
# "Conversation"); INFER_REQUEST seeds name their answer.
SERVER_ANSWER = {HELLO: 'HELLO', PING: 'PONG', PONG: 'BAD_TYPE', INFER_REPLY: 'BAD_TYPE',
                 METRICS: 'BAD_TYPE', ERROR: 'none', BYE: 'none'}


def envelope(msg_type, body=b'', flags=None, request_id=1, sent_ns=1000, echo_ns=0, version=VERSION, magic=MAGIC, body_size=None):
    if flags is None:
        flags = FLAG_TENSOR if msg_type in (INFER_REQUEST, INFER_REPLY) else 0
    if body_size is None:
        body_size = len(body)
    return struct.pack('<IHHIIQQQ', magic, version, msg_type, flags, body_size, request_id, sent_ns, echo_ns) + body


def hello_body(name=b'node-a', software=b'0.1.0', gpu=0):
    return (bytes(range(16)) + struct.pack('<QIIBBBB', 0x0123456789abcdef, 0x3f, 256, 2, gpu, len(name), len(software))
            + name + software)


def infer_body(expert, rows, cols, queue_ns=0, compute_ns=0, reserved=0):
    return struct.pack('<B3sIIIQQ', expert, bytes([reserved, 0, 0]), rows, cols, 0, queue_ns, compute_ns)


def metrics_body(ops=2000.0, fragmentation=0.25):
    return struct.pack('<QQQdQQQQQdIIQ', 60000, 123456, 3, ops, 410000, 1200000, 3100000,
                       9 << 20, 25 << 20, fragmentation, 12, 2, 17)


def error_body(code, text):
    return struct.pack('<HH', code, len(text)) + text


def tensor(n, last=None):
    values = [i * 0.5 - 3 for i in range(n)]
    if last is not None:
        values[-1] = last
    return struct.pack('<%df' % n, *values)


def write(name, env, tensor_frame=b'', outcome='ok', node=None):
    with open('%s/%s.bin' % (OUT, name), 'wb') as f:
        f.write(struct.pack('<H', len(env)) + env + tensor_frame)
    expected.append(('%s.bin' % name, outcome))
    if node is None:
        msg_type = struct.unpack('<H', env[6:8])[0] if len(env) >= 8 else 0
        if msg_type == ERROR:
            node = 'none'            # never answer an ERROR with an ERROR
        elif outcome != 'ok':
            node = outcome
        else:
            node = SERVER_ANSWER[msg_type]
    node_answers.append(('%s.bin' % name, node))


write('hello', envelope(HELLO, hello_body()))
write('hello-utf8', envelope(HELLO, hello_body(name='nœud-β'.encode(), gpu=1)))
write('ping', envelope(PING, request_id=42))
write('pong', envelope(PONG, request_id=42, echo_ns=1000))
write('bye', envelope(BYE))
write('infer-request', envelope(INFER_REQUEST, infer_body(0xff, 2, 8)), tensor(16), node='MODEL_MISMATCH')
write('infer-request-one', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH)), tensor(WIDTH), node='INFER_REPLY')
write('infer-reply', envelope(INFER_REPLY, infer_body(3, 2, 6, 1500, 42000), echo_ns=900), tensor(12))
write('error', envelope(ERROR, error_body(5, b'model hash differs')))
write('metrics', envelope(METRICS, metrics_body()))

write('empty', b'', outcome='MALFORMED')
write('short-header', envelope(PING)[:39], outcome='MALFORMED')
write('bad-magic', envelope(PING, magic=0x12345678), outcome='MALFORMED')
write('version-1', envelope(PING, version=1), outcome='BAD_VERSION')
write('version-3', envelope(PING, version=3), outcome='BAD_VERSION')
write('version-0', envelope(PING, version=0), outcome='BAD_VERSION')
write('type-0', envelope(0), outcome='BAD_TYPE')
write('type-9', envelope(9), outcome='BAD_TYPE')
write('reserved-flag', envelope(PING, flags=0x100), outcome='MALFORMED')
write('body-size-lies', envelope(HELLO, hello_body(), body_size=10), outcome='MALFORMED')
write('oversized-envelope', envelope(PING, b'\0' * 600), outcome='TOO_LARGE')
write('ping-with-body', envelope(PING, b'\0'), outcome='MALFORMED')
write('ping-with-tensor', envelope(PING), tensor(4), outcome='MALFORMED')
write('hello-bad-utf8', envelope(HELLO, hello_body(name=b'\xff\xfe')), outcome='MALFORMED')
write('hello-nul-name', envelope(HELLO, hello_body(name=b'a\0b')), outcome='MALFORMED')
write('hello-no-name', envelope(HELLO, hello_body(name=b'')), outcome='MALFORMED')
write('hello-long-name', envelope(HELLO, hello_body(name=b'n' * 65)), outcome='TOO_LARGE')
write('hello-gpu-2', envelope(HELLO, hello_body(gpu=2)), outcome='MALFORMED')
write('hello-truncated', envelope(HELLO, hello_body())[:60], outcome='MALFORMED')
write('infer-no-tensor', envelope(INFER_REQUEST, infer_body(0, 2, 8)), outcome='MALFORMED')
write('infer-no-flag', envelope(INFER_REQUEST, infer_body(0, 2, 8), flags=0), tensor(16), outcome='MALFORMED')
write('infer-short-tensor', envelope(INFER_REQUEST, infer_body(0, 2, 8)), tensor(15), outcome='MALFORMED')
write('infer-zero-rows', envelope(INFER_REQUEST, infer_body(0, 0, 8)), tensor(1), outcome='MALFORMED')
write('infer-huge-rows', envelope(INFER_REQUEST, infer_body(0, 0xffffffff, 0xffffffff)), tensor(4), outcome='TOO_LARGE')
write('infer-expert-32', envelope(INFER_REQUEST, infer_body(32, 1, 4)), tensor(4), outcome='MALFORMED')
write('infer-reserved', envelope(INFER_REQUEST, infer_body(0, 1, 4, reserved=1)), tensor(4), outcome='MALFORMED')
write('infer-request-timings', envelope(INFER_REQUEST, infer_body(0, 1, 4, 5, 6)), tensor(4), outcome='MALFORMED')
write('error-unknown-code', envelope(ERROR, error_body(99, b'?')), outcome='MALFORMED')
write('error-long-message', envelope(ERROR, error_body(1, b'x' * 257)), outcome='TOO_LARGE')
write('error-length-lies', envelope(ERROR, struct.pack('<HH', 1, 50) + b'short'), outcome='MALFORMED')
write('metrics-nan', envelope(METRICS, metrics_body(ops=float('nan'))), outcome='MALFORMED')
write('metrics-fragmentation', envelope(METRICS, metrics_body(fragmentation=2.0)), outcome='MALFORMED')
write('metrics-short', envelope(METRICS, metrics_body()[:80]), outcome='MALFORMED')

# Version 2: what the node decides, each with its status.
write('infer-route-255', envelope(INFER_REQUEST, infer_body(0xff, 1, WIDTH)), tensor(WIDTH), node='NO_EXPERT')
write('infer-expert-6', envelope(INFER_REQUEST, infer_body(6, 1, WIDTH)), tensor(WIDTH), node='NO_EXPERT')
write('infer-rows-2', envelope(INFER_REQUEST, infer_body(1, 2, WIDTH)), tensor(2 * WIDTH), node='INFER_REPLY')
write('infer-rows-32', envelope(INFER_REQUEST, infer_body(1, 32, WIDTH)), tensor(32 * WIDTH), node='INFER_REPLY')
write('infer-rows-2-route', envelope(INFER_REQUEST, infer_body(0xff, 2, WIDTH)), tensor(2 * WIDTH), node='NO_EXPERT')
write('infer-width-narrow', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH - 1)), tensor(WIDTH - 1), node='MODEL_MISMATCH')
write('infer-width-wide', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH + 1)), tensor(WIDTH + 1), node='MODEL_MISMATCH')
write('infer-nan', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH)), tensor(WIDTH, float('nan')), outcome='MALFORMED')
write('infer-inf', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH)), tensor(WIDTH, float('inf')), outcome='MALFORMED')
write('infer-minus-inf', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH)), tensor(WIDTH, float('-inf')), outcome='MALFORMED')
write('infer-reply-nan', envelope(INFER_REPLY, infer_body(1, 1, 4), echo_ns=5), tensor(4, float('nan')), outcome='MALFORMED')
# rows x cols over 4 Mi floats (16 MiB), though each is within its own limit
write('infer-over-16mib', envelope(INFER_REQUEST, infer_body(1, 1024, 4097)), tensor(4), outcome='TOO_LARGE')
# the largest legal shape: refused only for its short tensor frame
write('infer-largest-short', envelope(INFER_REQUEST, infer_body(1, 1024, 4096)), tensor(4), outcome='MALFORMED')
write('ping-echo', envelope(PING, echo_ns=5), outcome='MALFORMED')
write('bye-echo', envelope(BYE, echo_ns=5), outcome='MALFORMED')
write('metrics-echo', envelope(METRICS, metrics_body(), echo_ns=5), outcome='MALFORMED')
write('infer-request-echo', envelope(INFER_REQUEST, infer_body(1, 1, WIDTH), echo_ns=5), tensor(WIDTH), outcome='MALFORMED')
write('hello-echo', envelope(HELLO, hello_body(), echo_ns=5))
write('hello-newline-name', envelope(HELLO, hello_body(name=b'a\nevent gone x: y')), outcome='MALFORMED')
write('hello-escape-name', envelope(HELLO, hello_body(name=b'\x1b[31mred')), outcome='MALFORMED')
write('hello-c1-name', envelope(HELLO, hello_body(name='a\u0085b'.encode())), outcome='MALFORMED')
write('hello-del-software', envelope(HELLO, hello_body(software=b'0.1\x7f')), outcome='MALFORMED')
# an ERROR's text may hold them: it is escaped wherever it is shown
write('error-control-text', envelope(ERROR, error_body(8, b'line\n\x1b[2J')))

with open('%s/expected.txt' % OUT, 'w') as f:
    f.write('# seed<TAB>"ok" or the SmWireStatus (without SM_WIRE_STATUS_); made by ../make-wire-corpus.py\n')
    for name, outcome in expected:
        f.write('%s\t%s\n' % (name, outcome))

with open('%s/node.txt' % OUT, 'w') as f:
    f.write('# seed<TAB>what a node answers after a HELLO with its model; made by ../make-wire-corpus.py\n')
    for name, answer in node_answers:
        f.write('%s\t%s\n' % (name, answer))
