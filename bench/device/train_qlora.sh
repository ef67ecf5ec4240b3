#!/usr/bin/env bash
# Run bench/train_qlora.py on the lent GPU machine (python3 there holds torch, transformers, peft; no network).
# Installs the wheels of bench/device/fetch_wheels.sh from .whl/ into /tmp/site, then measures one model per call
# (each call must end inside the device's 10-minute limit) and writes the JSON, PNG and log into $OUT.
#
#   device run, carry [".whl"]:  bash bench/device/train_qlora.sh gemma-3-1b
#   device run, carry [".whl"]:  bash bench/device/train_qlora.sh gemma-3-4b-text --steps 6
#   TAG=compile bash bench/device/train_qlora.sh gemma-3-1b --compile   # variant: files named ..._<model>-<TAG>
#   extra arguments go to bench/train_qlora.py (e.g. --compile, --tmz-micro-batch 8)
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?"usage: train_qlora.sh MODEL [train_qlora.py options]"}
shift
out=${OUT:-bench/results}
python=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$python" -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
name=train_qlora_cuda_$model${TAG:+-$TAG}
"$python" bench/train_qlora.py --model "$model" --out "$out/$name.json" "$@" 2>&1 | tee "$out/$name.log"
