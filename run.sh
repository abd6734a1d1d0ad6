#!/usr/bin/env bash
# reslstm: the staged recipe. Run `./run.sh --help` for the stages and options.
#
#   ./run.sh                                   # everything on the mini corpus, ends with the table
#   ./run.sh --stage 3 --stop-stage 3 model=residual_lstm model.num_layers=10 train.max_epochs=20
#   ./run.sh data=ami_sdm data.corpus_dir=/path/to/amicorpus model/size=paper
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stage=0
stop_stage=6
models="plain_lstm highway_lstm residual_lstm"
layers="3 5 10"
jobs=2
nproc=1
nnodes=1
node_rank=0
rdzv_endpoint=""
rdzv_id=reslstm

# the stages, from their one definition (also reslstm.layout.STAGES): number, name, banner
stage_names=() stage_banners=()
while IFS=$'\t' read -r number name banner; do
  [[ -z $number || $number == \#* ]] && continue
  ((number == ${#stage_names[@]})) || { echo "error: src/reslstm/stages.tsv: stage $number out of order" >&2; exit 2; }
  stage_names+=("$name") stage_banners+=("$banner")
done < src/reslstm/stages.tsv

usage() {
  cat <<USAGE
Usage: ./run.sh [options] [hydra overrides...]

Stages (each skips work whose outputs are complete; add force=true to redo):
USAGE
  for i in "${!stage_names[@]}"; do printf '  %d  %s: %s\n' "$i" "${stage_names[$i]}" "${stage_banners[$i]}"; done
  cat <<USAGE

Options:
  --stage N          first stage to run (default $stage)
  --stop-stage M     last stage to run (default $stop_stage)
  --models "A B"     model configs for stages 3-5 (default "$models")
  --layers "3 5 10"  depths for stages 3-5 (default "$layers")
  --jobs N           runs trained/decoded in parallel, 1 thread each (default $jobs)
  --nproc-per-node N train with torchrun/DDP on N processes (GPUs, or CPU with gloo)
  --nnodes N         train on N machines (torchrun, c10d rendezvous; stage 3 only, --jobs 1):
                     start the same command on every node (recipes/slurm_train.sh)
  --node-rank R      this node's rank, 0..N-1 (default 0; torchrun's c10d rendezvous orders
                     the nodes itself, global rank 0 writes checkpoints and logs)
  --rdzv-endpoint HOST:PORT
                     the rendezvous: a port on one of the nodes, reachable from all
                     (needed with --nnodes > 1; with --nnodes 1, c10d instead of --standalone)
  --rdzv-id ID       the rendezvous id, the same on every node (default $rdzv_id; a grid of
                     runs appends -1, -2, ... per run)
  -h, --help         this help

Everything else is a Hydra override (conf/), e.g. data=ami_sdm train.lr=1e-3 model/size=paper.
An override naming model= or model.num_layers= (or -m for a Hydra sweep) selects that single
run for stages 3-5 instead of the --models x --layers grid.
USAGE
}

die() { echo "error: $*" >&2; exit 2; }
is_int() { [[ $1 =~ ^[0-9]+$ ]]; }

overrides=()
given=" "  # the options given on the command line (their defaults change with --nnodes)
while (($#)); do
  [[ $1 == --* ]] && given+="${1//_/-} "
  case $1 in
    -h|--help) usage; exit 0 ;;
    --stage) is_int "${2:-}" || die "--stage needs a number"; stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) is_int "${2:-}" || die "--stop-stage needs a number"; stop_stage=$2; shift 2 ;;
    --models) models=${2:?--models needs a value}; shift 2 ;;
    --layers) layers=${2:?--layers needs a value}; shift 2 ;;
    --jobs) is_int "${2:-}" || die "--jobs needs a number"; jobs=$2; shift 2 ;;
    --nproc-per-node|--nproc_per_node) is_int "${2:-}" || die "--nproc-per-node needs a number"; nproc=$2; shift 2 ;;
    --nnodes) is_int "${2:-}" || die "--nnodes needs a number"; nnodes=$2; shift 2 ;;
    --node-rank|--node_rank) is_int "${2:-}" || die "--node-rank needs a number"; node_rank=$2; shift 2 ;;
    --rdzv-endpoint|--rdzv_endpoint)
      [[ ${2:-} =~ ^(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9._-]+):[0-9]+$ ]] || die "--rdzv-endpoint needs HOST:PORT, got '${2:-}'"
      rdzv_endpoint=$2; shift 2 ;;
    --rdzv-id|--rdzv_id)
      [[ ${2:-} =~ ^[A-Za-z0-9._-]+$ ]] || die "--rdzv-id needs a name of letters, digits, '.', '_' or '-'"
      rdzv_id=$2; shift 2 ;;
    --*) die "unknown option $1 (see ./run.sh --help)" ;;
    *) overrides+=("$1"); shift ;;
  esac
done
last=$((${#stage_names[@]} - 1))
((stage <= last)) || die "unknown stage $stage: stages are 0-$last (see ./run.sh --help)"
((stop_stage <= last)) || die "unknown stop stage $stop_stage: stages are 0-$last (see ./run.sh --help)"
((stage <= stop_stage)) || die "--stage $stage is after --stop-stage $stop_stage"
((nproc >= 1)) || die "--nproc-per-node must be at least 1"
((nnodes >= 1)) || die "--nnodes must be at least 1"
((node_rank < nnodes)) || die "--node-rank $node_rank must be below --nnodes $nnodes"
if ((nnodes > 1)); then
  # Every node runs this same command; only stage 3 is a joint job (stages 0-2 and 4-6 would run
  # once per node, into the same shared directories): run them before and after on one node.
  [[ -n $rdzv_endpoint ]] || die "--nnodes $nnodes needs --rdzv-endpoint HOST:PORT (a port on one of the nodes)"
  if { [[ $given == *" --stage "* ]] && ((stage != 3)); } ||
    { [[ $given == *" --stop-stage "* ]] && ((stop_stage != 3)); }; then
    die "--nnodes $nnodes runs stage 3 only: run stages 0-2 before it and 4-6 after it on one node"
  fi
  stage=3 stop_stage=3
  if [[ $given == *" --jobs "* ]] && ((jobs > 1)); then
    die "--nnodes $nnodes trains one run at a time: --jobs $jobs would need a rendezvous per run"
  fi
  jobs=1
fi
[[ -n $rdzv_endpoint || $given != *" --rdzv-id "* ]] || die "--rdzv-id needs --rdzv-endpoint"

scripts/setup_env.sh
venv=${RESLSTM_VENV:-$PWD/.venv}
python=("$venv/bin/python" -u)
export PYTHONUNBUFFERED=1

"${python[@]}" -m reslstm.cli.check "${overrides[@]}"

# Stages 3-5 run once per model: the grid, unless the overrides pick a single run.
runs=()
single=0
for o in "${overrides[@]}"; do
  [[ $o == model=* || $o == model.num_layers=* || $o == -m || $o == --multirun ]] && single=1
done
if ((single)); then
  runs=("")
else
  # deepest first: with --jobs > 1 the long runs start early and the short ones fill the gaps
  for l in $(tr ' ' '\n' <<<"$layers" | sort -rn); do
    for m in $models; do runs+=("model=$m model.num_layers=$l"); done
  done
fi

# With --jobs > 1 each run's output lines carry its run directory's name, as the stages name it.
names=()
if ((${#runs[@]} > 1 && jobs > 1 && stage <= 5 && stop_stage >= 3)); then
  for r in "${runs[@]}"; do
    # shellcheck disable=SC2086
    dir=$("${python[@]}" -m reslstm.cli.layout run-dir $r "${overrides[@]}")
    names+=("$(basename "$dir")")
  done
fi

run_stage() {  # run_stage MODULE [extra overrides...]
  local module=$1; shift
  "${python[@]}" -m "reslstm.cli.$module" "$@" "${overrides[@]}"
}

rdzv_run=0
train_cmd() {
  if [[ -n $rdzv_endpoint ]]; then
    # torchrun's own rendezvous (c10d) across nodes; each run of a grid gets its own id so that
    # a node that finishes a run early cannot join the previous run's rendezvous
    local id=$rdzv_id
    rdzv_run=$((rdzv_run + 1))
    if ((${#runs[@]} > 1)); then id+="-$rdzv_run"; fi
    "$venv/bin/torchrun" --nnodes="$nnodes" --node-rank="$node_rank" --nproc-per-node="$nproc" \
      --rdzv-backend=c10d --rdzv-endpoint="$rdzv_endpoint" --rdzv-id="$id" \
      -m reslstm.cli.train "$@" "${overrides[@]}"
  elif ((nproc > 1)); then
    "$venv/bin/torchrun" --standalone --nproc-per-node="$nproc" -m reslstm.cli.train "$@" "${overrides[@]}"
  else
    run_stage train "$@"
  fi
}

for_each_run() {  # for_each_run COMMAND: COMMAND <run overrides...> for every run, --jobs at a time
  local cmd=$1 failed=0
  if ((${#runs[@]} == 1 || jobs == 1)); then
    for r in "${runs[@]}"; do
      # shellcheck disable=SC2086
      $cmd $r || return $?
    done
    return 0
  fi
  for i in "${!runs[@]}"; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || failed=$?; done
    # shellcheck disable=SC2086
    ( $cmd ${runs[$i]} progress_bar=false 2>&1 | sed -u "s/^/[${names[$i]}] /"; exit "${PIPESTATUS[0]}" ) &
  done
  while (($(jobs -rp | wc -l) > 0)); do wait -n || failed=$?; done
  return $failed
}

for ((s = stage; s <= stop_stage; s++)); do
  echo "=== stage $s: ${stage_names[$s]}: ${stage_banners[$s]}"
  rc=0
  case $s in
    3) for_each_run train_cmd || rc=$? ;;
    4|5) for_each_run "run_stage ${stage_names[$s]}" || rc=$? ;;
    *) run_stage "${stage_names[$s]}" || rc=$? ;;
  esac
  # status 2: the stage already printed its one-line error; anything else is unexpected
  if ((rc == 2)); then exit 2; fi
  if ((rc != 0)); then
    echo "error: stage $s (${stage_names[$s]}) failed with status $rc (see above)" >&2
    exit 1
  fi
done
