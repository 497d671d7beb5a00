#!/usr/bin/env bash
# Ingest throughput on a CUDA GPU: tokens/s of `rag ingest` with the defaults (device and
# precision auto: the GPU, in bf16 where it supports it) and the forward share.
# Usage: bash bench/gpu_ingest.sh [--data DIR]   (needs the bench extra and a CUDA build of torch)
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("torch sees no CUDA GPU: install a CUDA build of torch (pip install torch) first")
print(f"GPU: {torch.cuda.get_device_name(0)}, bf16: {torch.cuda.is_bf16_supported()}", file=sys.stderr)
PY
exec python bench/ingest_throughput.py --no-llama-index "$@"
