#!/usr/bin/env bash
# The paper's Table 1: plain, highway and residual LSTM stacks at 3, 5 and 10 layers, trained by
# one shared stopping rule, decoded, scored on all / overlapped / non-overlapped segments and
# tabulated in exp/<corpus>/RESULTS.md with the paper's figures and its claims checked.
#
#   recipes/paper_table.sh                       # mini corpus on CPU (what ./run.sh does)
#   recipes/paper_table.sh experiment=paper_ami_sdm data.corpus_dir=/path/to/amicorpus --jobs 1
#                                                # real AMI SDM, paper-sized models, on a GPU
# Extra arguments go to run.sh (options and Hydra overrides).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../run.sh" \
  --models "plain_lstm highway_lstm residual_lstm" --layers "3 5 10" "$@"
