"""The results table (stage 6): collect finished runs, write RESULTS.md and plots."""

from reslstm.results.runs import RunResult, collect_runs
from reslstm.results.table import write_results

__all__ = ["RunResult", "collect_runs", "write_results"]
