#!/usr/bin/env bash
# Download, on a machine with PyPI access, the wheels that bench/train_qlora.py needs on a GPU machine that has
# torch, transformers and accelerate but no network: bitsandbytes, liger-kernel and peft, at the versions uv.lock
# pins, built for CPython 3.12 on x86-64 Linux. They land in .whl/ (git-ignored), which bench/device/train_qlora.sh
# installs from.
#
#   bash bench/device/fetch_wheels.sh            # then carry .whl to the GPU machine
#   PYVER=3.11 bash bench/device/fetch_wheels.sh # another Python on the GPU machine
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PYVER=${PYVER:-3.12}
locked() {  # the version uv.lock pins for package $1
  awk -v name="$1" '$0 == "name = \"" name "\"" {getline; gsub(/version = |"/, ""); print; exit}' uv.lock
}
mkdir -p .whl
for pkg in bitsandbytes liger-kernel peft; do
  ver=$(locked "$pkg")
  [ -n "$ver" ] || { echo "uv.lock pins no $pkg: run 'uv lock' first" >&2; exit 1; }
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d .whl "$pkg==$ver"
done
ls -l .whl
du -sh .whl
