#!/usr/bin/env bash
# The paper's Table 2: highway and residual LSTM stacks at 3, 5 and 10 layers trained on SDM and
# IHM audio pooled (data.train_mics=[sdm,ihm]) and tested on SDM (data.mic), trained by the same
# stopping rule as Table 1, decoded, scored and tabulated in exp/<corpus>+ihm/RESULTS.md with
# the paper's Table 2 figures and its claims checked.
#
#   recipes/paper_table2.sh                      # mini corpus on CPU (both mics are generated)
#   recipes/paper_table2.sh experiment=paper_ami_sdm data.corpus_dir=/path/to/amicorpus --jobs 1
#                                                # real AMI: ami_sdm + ami_ihm, on a GPU
# Stages 0-1 prepare each microphone once in its own directories (data/manifests/mini_sdm and
# mini_ihm), shared with ./run.sh data.mic=ihm; stage 2 (tokens, LM) is SDM's, as in Table 1.
# Extra arguments go to run.sh (options and Hydra overrides).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../run.sh" \
  --models "highway_lstm residual_lstm" --layers "3 5 10" "data.train_mics=[sdm,ihm]" "$@"
