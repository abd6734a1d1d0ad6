"""The depth sweep's table and figure (``recipes/depth_sweep.sh``, after stages 3-5):
``exp/<corpus>/DEPTH_SWEEP.md`` and ``depth_curve.png``."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli import stage_entry
from reslstm.results.depth_sweep import write_depth_sweep


@stage_entry
def main(cfg: DictConfig) -> None:
    corpus_dir = Path(cfg.paths.exp_dir) / cfg.data.name
    method = "beam_lm" if "beam_lm" in cfg.decode.methods else cfg.decode.methods[0]
    text = write_depth_sweep(corpus_dir, method, learning_cer=cfg.train.learning_cer)
    print(text)
    print(f"(written to {corpus_dir / 'DEPTH_SWEEP.md'}, depth_curve.png beside it)")


if __name__ == "__main__":
    main()
