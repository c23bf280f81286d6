#!/usr/bin/env bash
# The wheels the offline GPU check carries (backends/gpu-offline.txt), downloaded into .whl/
# for a GPU machine without network: Python 3.12, x86-64 Linux (the H200 machines' python3).
# Run here, where PyPI is reachable; then the device call names ".whl" in its carry list and
# runs `bash benchmarks/gpu_check.sh`, which installs them with --no-index (DEVELOPERS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .whl -r backends/gpu-offline.txt
ls -l .whl
