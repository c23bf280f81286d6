#!/usr/bin/env bash
# The offline GPU check as one command on a GPU machine without network (DEVELOPERS.md):
# installs the carried wheels in .whl/ (benchmarks/gpu_wheels.sh made them) into a folder of
# their own with --no-index, runs benchmarks/gpu_check.py with the machine's own CuPy, JAX and
# torch and this checkout's portnet, then leaves in $OUT (or gpu-check-results/) the summary
# and one archive of every log and report. Options go to gpu_check.py (--budget, --steps).
set -u
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
  site=$(mktemp -d)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" .whl/*.whl || { echo "gpu_check.sh: installing .whl/ failed" >&2; exit 1; }
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "gpu_check.sh: no .whl/ here: using what this Python has (benchmarks/gpu_wheels.sh)"
fi
out=${OUT:-gpu-check-results}
work="$(mktemp -d)/gpu-check"
PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --out "$work" "$@"
rc=$?
mkdir -p "$out"
cp "$work"/summary.md "$work"/summary.json "$out"/ 2>/dev/null
tar czf "$out/gpu-check.tar.gz" -C "$(dirname "$work")" gpu-check
echo "gpu_check.sh: exit $rc; $out/summary.md, $out/gpu-check.tar.gz"
exit $rc
