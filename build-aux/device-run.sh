#!/bin/sh
# On the device host, from the repository root, after
# build-aux/device-pack.sh here: the figures issues 18 and 19 ask for,
# each file under $OUT.  One run of about six minutes:
#   doctor.txt   the machine, the CPU kernels and the GPU synmesh finds
#   engine.json  synmesh bench engine (scaling over 1…N workers, N = cores)
#   scaling.txt  synmesh run, closed loop, 1…N workers, GPU off / auto / on
#   gpu.json     synmesh bench gpu
#   gpu-small.json, gpu-large.json  the same with each GEMM tiling forced
#                (SM_GPU_TILES), to place the threshold between them
#   torch.txt    PyTorch's figures in the same run, the anchor
#   test-gpu.txt the GPU tests on the real device
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
pack=$root/_device
out=${OUT:-/tmp/synmesh-device}
mkdir -p "$out"

for deb in "$pack"/debs/*.deb; do
  dpkg -x "$deb" /
done
ldconfig
export LD_LIBRARY_PATH="$pack/lib"
# Where the host keeps NVIDIA's Vulkan driver manifest, if the loader
# does not find it by itself.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then
  export VK_DRIVER_FILES="$icd"
fi
SYNMESH_DATA_DIR=$(mktemp -d)
chmod 700 "$SYNMESH_DATA_DIR"
export SYNMESH_DATA_DIR
synmesh=$pack/bin/synmesh
cores=$(nproc)

{
  nproc
  nvidia-smi -L 2>&1
  "$synmesh" doctor 2>&1
} > "$out/doctor.txt"

timeout 300 "$synmesh" bench engine --json > "$out/engine.json" 2>&1

{
  n=1
  while [ "$n" -le "$cores" ]; do
    echo "== closed loop, $n workers, GPU off"
    timeout 60 "$synmesh" run --mode closed --rate $((256 * n)) --threads "$n" --duration 4 --no-store 2>&1 \
      | grep -E "throughput|latency|answered"
    n=$((n * 2))
  done
  for gpu in off auto on; do
    echo "== closed loop, 4 workers, max batch 256, GPU $gpu"
    timeout 90 "$synmesh" run --mode closed --rate 1024 --max-batch 256 --threads 4 --duration 6 --no-store \
      --gpu "$gpu" 2>&1 | grep -E "throughput|latency|answered|GPU"
  done
} > "$out/scaling.txt"

timeout 300 "$synmesh" bench gpu --json > "$out/gpu.json" 2>&1
for tiles in small large; do
  SM_GPU_TILES=$tiles timeout 200 "$synmesh" bench gpu --json > "$out/gpu-$tiles.json" 2>&1
done
timeout 300 python3 "$root/build-aux/device-torch-anchor.py" > "$out/torch.txt" 2>&1
timeout 300 "$pack/bin/test-gpu" > "$out/test-gpu.txt" 2>&1
ls -l "$out"
