#!/usr/bin/env bash
# Depth sweep: train, decode and score each model type at more depths than the paper's 3/5/10,
# then write exp/<corpus>/DEPTH_SWEEP.md (WER, parameters, epochs, training speed, peak memory,
# gradient flow by depth) with depth_curve.png, and refresh RESULTS.md (stage 6, whose
# grad_flow.png shows every layer of each model's deepest run). docs/grad_flow.md explains.
#
#   recipes/depth_sweep.sh                                   # plain + residual, 3 5 10 15 20 layers
#   recipes/depth_sweep.sh --models "plain_lstm highway_lstm residual_lstm" --layers "3 10 20"
#   recipes/depth_sweep.sh experiment=paper_ami_sdm data.corpus_dir=/path/to/amicorpus --jobs 1
#
# Stages 0-2 (data, features, tokens) must have run for the same data first, e.g.
# ./run.sh --stop-stage 2 (plus the same data overrides). --jobs N and --nproc-per-node N go to
# run.sh; every other argument is a Hydra override for all stages (e.g. train.max_epochs=10).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="plain_lstm residual_lstm"
layers="3 5 10 15 20"
run_opts=()
overrides=()
die() { echo "error: $*" >&2; exit 2; }
while (($#)); do
  case $1 in
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --models) models=${2:?--models needs a value}; shift 2 ;;
    --layers) layers=${2:?--layers needs a value}; shift 2 ;;
    --jobs|--nproc-per-node|--nproc_per_node) run_opts+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --*) die "unknown option $1 (depth_sweep.sh takes --models, --layers, --jobs, --nproc-per-node)" ;;
    *) overrides+=("$1"); shift ;;
  esac
done
for l in $layers; do
  [[ $l =~ ^[1-9][0-9]*$ ]] || die "--layers takes positive integers, got '$l'"
done
for o in "${overrides[@]}"; do
  [[ $o == model=* || $o == model.num_layers=* ]] && die "$o: use --models / --layers for the sweep"
done

"$root/run.sh" --stage 3 --stop-stage 5 --models "$models" --layers "$layers" \
  "${run_opts[@]}" "${overrides[@]}"
venv=${RESLSTM_VENV:-$root/.venv}
echo "=== depth sweep: DEPTH_SWEEP.md and depth_curve.png"
"$venv/bin/python" -m reslstm.cli.depth_sweep "${overrides[@]}"
"$root/run.sh" --stage 6 --stop-stage 6 "${overrides[@]}"
