"""The depth sweep's table and figure (``recipes/depth_sweep.sh``, after stages 3-5):
``exp/<corpus>/DEPTH_SWEEP.md`` and ``depth_curve.png``."""

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.layout import Layout
from reslstm.results.depth_sweep import write_depth_sweep
from reslstm.runlock import sole_writer


@stage_entry
def main(cfg: DictConfig) -> None:
    results = Layout.of(cfg).results
    method = "beam_lm" if "beam_lm" in cfg.decode.methods else cfg.decode.methods[0]
    with sole_writer([results.path], "reslstm-depth-sweep"):
        text = write_depth_sweep(results.path, method, learning_cer=cfg.train.learning_cer)
    print(text)
    print(f"(written to {results.depth_sweep_table}, {results.depth_curve_plot.name} beside it)")


if __name__ == "__main__":
    main()
