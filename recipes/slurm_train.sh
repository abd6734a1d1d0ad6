#!/usr/bin/env bash
#SBATCH --job-name=reslstm-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1        # one torchrun agent per node; it starts that node's ranks
#SBATCH --gpus-per-node=4          # ranks per node (RESLSTM_NPROC overrides; CPU nodes: gloo)
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --output=slurm-%j.out
#
# Stage 3 (training) on several SLURM nodes through torchrun's own c10d rendezvous: one srun
# task per node runs `run.sh --nnodes N --node-rank $SLURM_NODEID`, the rendezvous endpoint is
# a port on the job's first node. Submit from the repository root; the repository, data/ and
# exp/ must be on a filesystem every node sees (checkpoints are written by global rank 0 and
# read by every rank on resume). Stages 0-2 before and 4-6 after run on one node:
#
#   ./run.sh --stop-stage 2 experiment=paper_ami_sdm data.corpus_dir=/shared/amicorpus
#   sbatch recipes/slurm_train.sh experiment=paper_ami_sdm data.corpus_dir=/shared/amicorpus \
#       model=residual_lstm model.num_layers=10
#   ./run.sh --stage 4 experiment=paper_ami_sdm data.corpus_dir=/shared/amicorpus \
#       model=residual_lstm model.num_layers=10
#
# Arguments go to run.sh (Hydra overrides; without model=/model.num_layers= the --models x
# --layers grid trains one run after the other). Resubmitting the same command resumes from
# checkpoints/last.pt, with the same number of nodes x ranks per node (the world size).
# Environment: RESLSTM_RDZV_PORT (default 29400), RESLSTM_NPROC (default: the node's GPUs, else 1).
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:?submit with sbatch from the repository root}"
[[ -x run.sh ]] || { echo "error: submit from the repository root (no ./run.sh in $PWD)" >&2; exit 2; }

mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST")  # (no `| head`: SIGPIPE)
head_node=${hosts[0]:?no host names in SLURM_JOB_NODELIST=$SLURM_JOB_NODELIST}
endpoint="$head_node:${RESLSTM_RDZV_PORT:-29400}"
nproc=${RESLSTM_NPROC:-${SLURM_GPUS_ON_NODE:-1}}
echo "reslstm: $SLURM_NNODES nodes x $nproc ranks, rendezvous $endpoint (id $SLURM_JOB_ID)"

# SLURM_NODEID differs per node, so it is read inside each task (the single quotes).
srun --nodes="$SLURM_NNODES" --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c '
  exec ./run.sh --stage 3 --stop-stage 3 --nnodes "$SLURM_NNODES" --node-rank "$SLURM_NODEID" \
    --nproc-per-node "$0" --rdzv-endpoint "$1" --rdzv-id "slurm-$SLURM_JOB_ID" "${@:2}"
' "$nproc" "$endpoint" "$@"
