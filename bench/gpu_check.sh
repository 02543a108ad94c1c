#!/usr/bin/env bash
# The GPU path of MB-MPO, on a machine with a CUDA GPU: the GPU tests (the fused kernel against the CPU
# reference), bench/rollouts.py (the kernel and torch on the GPU beside the CPU backends) and one MB-MPO
# iteration of HalfCheetah-v5 at the bench's settings with the cuda backend, then the numba backend (CPU).
# Without a GPU it says so and exits 0.
#
#   bench/gpu_check.sh [--quick]     (--quick: the benches' quick forms, a few minutes in all)
#
# Set up first with GORILA_GPU=1 TORCH_INDEX_URL=<a CUDA wheel index of torch> tools/setup-venv (README).
# PYTHON names another interpreter than .venv/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-.venv/bin/python}
quick=()
case ${1:-} in
    "") ;;
    --quick) quick=(--quick) ;;
    *)
        echo "gpu_check: unknown argument '$1' (the only one is --quick)" >&2
        exit 2
        ;;
esac

if ! "$python" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA GPU that torch can use on this machine; nothing to check (exit 0)"
    exit 0
fi
if ! "$python" -c "import sys; from numba import cuda; sys.exit(0 if cuda.is_available() else 1)"; then
    echo "gpu_check: torch sees a GPU but numba's CUDA target does not: install the gpu extra" \
        "(GORILA_GPU=1 TORCH_INDEX_URL=... tools/setup-venv)" >&2
    exit 1
fi

echo "== GPU tests"
"$python" -m pytest -q -m gpu tests/mbmpo

echo "== imagined rollouts: bench/rollouts.py ${quick[*]}"
"$python" bench/rollouts.py "${quick[@]}"

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
iteration=(--iterations 1)
[[ ${#quick[@]} -gt 0 ]] && iteration=(--quick)
for backend in cuda numba; do
    echo "== one MB-MPO iteration, $backend backend: bench/mbmpo_mujoco.py ${iteration[*]} --backend $backend"
    "$python" bench/mbmpo_mujoco.py "${iteration[@]}" --backend "$backend" | tee "$results/$backend"
done
seconds() { grep '^RESULT' "$results/$1" | tr ' ' '\n' | sed -n 's/^s_per_iteration=//p'; }
gpu_s=$(seconds cuda)
cpu_s=$(seconds numba)
echo "gpu_check: one iteration ${gpu_s} s on the GPU, ${cpu_s} s on the CPU" \
    "($(awk -v g="$gpu_s" -v c="$cpu_s" 'BEGIN { printf "%.2f", c / g }')x)"
