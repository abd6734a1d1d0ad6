#!/usr/bin/env bash
# Table 1 over several seeds: the default grid (seed 42, run dirs <model>_L<layers>) plus the
# same grid once per extra seed S (seed=S, run dirs <model>_L<layers>_seedS), then stage 6, whose
# RESULTS.md adds mean ± std per cell and, per claim, in how many seeds it held.
#
#   recipes/seeds.sh                         # seeds 42 (default run) + 1 + 2 on the mini corpus
#   recipes/seeds.sh --seeds "1 2 3 4"       # other extra seeds
#   ATEN_CPU_CAPABILITY=avx2 recipes/seeds.sh --tag _avx2 # a variant's grids: <model>_L<layers>_avx2,
#                                            # ..._avx2_seedS; stage 6 pools each variant's seeds
# Other arguments go to run.sh (options and Hydra overrides), e.g. --layers "3 10" --jobs 2 (a smaller grid).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds="1 2"
tag=""
args=()
while (($#)); do
  case $1 in
    --seeds) seeds=${2:?--seeds needs a value}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    tag=*) echo "error: give the variant's tag as --tag ${1#tag=} (seed runs append _seed<N>)" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
for s in $seeds; do
  [[ $s =~ ^[0-9]+$ ]] || { echo "error: --seeds takes integers, got '$s'" >&2; exit 2; }
done
"$root/run.sh" --stop-stage 5 "tag=$tag" "${args[@]}"
for s in $seeds; do
  echo "=== seed $s"
  "$root/run.sh" --stage 3 --stop-stage 5 "seed=$s" "tag=${tag}_seed$s" "${args[@]}"
done
"$root/run.sh" --stage 6 --stop-stage 6 "${args[@]}"
