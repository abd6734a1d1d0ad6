#!/usr/bin/env bash
# The GPU check: one command, under 8 minutes on one H100 or H200, that writes a short report.
#
#   scripts/gpu_check.sh                          # device cuda, paper size, the mini corpus
#   scripts/gpu_check.sh --device cpu --tiny      # dry run: tiny sizes and data=mini_tiny (tests)
#
# Options: --device D (default cuda), --out DIR (default exp/gpu_check), --data-dir DIR (where
# stages 0-2 are done or are run first; default data), --tiny (CPU-sized everything).
# Steps, each timed:
#   1. scripts/bench_lstm.py: every stack against nn.LSTM, forward + backward;
#   2. one epoch of residual 10 at paper size (1024 cells / 512 projection) on the mini corpus,
#      bf16 autocast (train.amp): train_summary.json's speed and peak memory;
#   3. scripts/bf16_check.py: bf16 autocast against fp32, outputs and weight gradients.
# The report is DIR/report.md; each step's full output is beside it. Python: $PYTHON, else the
# project's .venv (no setup is run: a GPU machine may have no network).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
device=cuda out=$root/exp/gpu_check data=$root/data tiny=0
while (($#)); do
  case $1 in
    --device) device=${2:?--device needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --data-dir) data=${2:?--data-dir needs a value}; shift 2 ;;
    --tiny) tiny=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $1 (see $0 --help)" >&2; exit 2 ;;
  esac
done
python=${PYTHON:-$root/.venv/bin/python}
[[ -x $python ]] || command -v "$python" >/dev/null || { echo "error: no Python at $python (set PYTHON)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
report=$out/report.md
export PYTHONUNBUFFERED=1

if ((tiny)); then
  bench=(--sizes recipe --layers 3 --repeats 1 --steps 20)
  corpus=(data=mini_tiny model/size=small model.num_layers=2)
  bf16=(--size recipe --layers 2 --steps 20 --batch 4)
else
  bench=()
  corpus=(model/size=paper model.num_layers=10)
  bf16=()
fi
common=("${corpus[@]}" "device=$device" "paths.data_dir=$data" "paths.exp_dir=$out/exp" progress_bar=false)

step() {  # step NAME LOG COMMAND...: run, time, fail loudly
  local name=$1 log=$2 start=$SECONDS; shift 2
  echo "[gpu-check] $name ..." >&2
  if ! "$@" >"$log" 2>&1; then
    echo "[gpu-check] FAILED: $name; the end of $log:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  timings+=("| $name | $((SECONDS - start)) s |")
}
timings=()

{
  echo "# GPU check, $(date -u +%Y-%m-%d) (commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo
  echo "Device \`$device\`: $("$python" -c 'import sys, torch; d = sys.argv[1]
print(torch.cuda.get_device_name() if d.startswith("cuda") else "CPU", "| torch", torch.__version__)' "$device")"
} >"$report"

step "1. bench_lstm.py" "$out/bench_lstm.log" \
  "$python" "$root/scripts/bench_lstm.py" --device "$device" "${bench[@]}"
for stage in data features tokens; do
  step "stage $stage (skipped if done)" "$out/$stage.log" \
    "$python" -m "reslstm.cli.$stage" "${common[@]}"
done
step "2. one epoch of residual $( ((tiny)) && echo 2 || echo 10)" "$out/train.log" \
  "$python" -m reslstm.cli.train "${common[@]}" model=residual_lstm train.max_epochs=1 \
  train.resume=none force=true
step "3. bf16_check.py" "$out/bf16_check.log" \
  "$python" "$root/scripts/bf16_check.py" --device "$device" "${bf16[@]}"

{
  echo
  echo "## Wall time per step"
  echo
  echo "| step | wall |"
  echo "|---|--:|"
  printf '%s\n' "${timings[@]}"
  echo
  echo "## 1. Stacks against nn.LSTM (forward + backward)"
  echo
  grep '^[|#]' "$out/bench_lstm.log"
  echo
  echo "## 2. One training epoch"
  echo
  "$python" - "$out/exp" <<'PY'
import json, sys
from pathlib import Path
summary = json.loads(next(Path(sys.argv[1]).glob("*/*/train_summary.json")).read_text())
keys = ["model", "num_layers", "num_params", "device", "train_time_s", "frames_per_s",
        "peak_rss_mb", "peak_cuda_mb", "best_dev_loss", "best_dev_cer"]
print("| key | value |\n|---|--:|")
for k in keys:
    if k in summary:
        print(f"| {k} | {summary[k]} |")
PY
  echo
  echo "## 3. bf16 autocast against fp32"
  echo
  grep '^[|#]' "$out/bf16_check.log"
} >>"$report"
echo "[gpu-check] report: $report" >&2
cat "$report"
