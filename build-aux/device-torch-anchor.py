#!/usr/bin/env python3
# PyTorch's figures, the anchor for `synmesh bench gpu` (issue 19), taken
# in the same run on the device host by build-aux/device-run.sh:
#  - a 4096³ matmul in FP32 (TF32 off: cuBLAS's plain FP32), TF32, BF16;
#  - the standard preset's expert (256-512-512-64, ReLU between layers),
#    eager, at batch 1, 64 and 4096: device time (CUDA events) and host to
#    host (pinned input copied in, the answer copied back).
# Each figure is the median of its repeats.
import statistics
import time

import torch


def median_ms(run, repeats):
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def matmul(dtype, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    n = 4096
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(5):
        a @ b
    ms = median_ms(lambda: a @ b, 50)
    name = {torch.float32: "tf32" if tf32 else "fp32", torch.bfloat16: "bf16"}[dtype]
    print(f"matmul {name} 4096^3: {2 * n ** 3 / ms / 1e9:.1f} TFLOP/s ({ms:.3f} ms)")


def expert():
    torch.backends.cuda.matmul.allow_tf32 = False
    widths = [256, 512, 512, 64]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).cuda().eval()
    with torch.inference_mode():
        for batch in (1, 64, 4096):
            x = torch.randn(batch, 256, device="cuda")
            host = torch.randn(batch, 256).pin_memory()
            for _ in range(20):
                net(x)
            device_ms = median_ms(lambda: net(x), 200)
            times = []
            for _ in range(200):
                t0 = time.perf_counter()
                net(host.to("cuda", non_blocking=True)).cpu()
                times.append((time.perf_counter() - t0) * 1e3)
            print(f"expert standard batch {batch}: device {device_ms * 1e3:.0f} us, "
                  f"host to host {statistics.median(times) * 1e3:.0f} us")


print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
matmul(torch.float32, False)
matmul(torch.float32, True)
matmul(torch.bfloat16, False)
expert()
