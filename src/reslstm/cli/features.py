"""Stage 1: fbank features and CMVN (``reslstm-features``)."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.features.extract import compute_features


@stage_entry
def main(cfg: DictConfig) -> None:
    compute_features(
        cfg.features,
        Path(cfg.paths.manifest_dir),
        Path(cfg.paths.fbank_dir),
        force=cfg.force,
        progress=cfg.progress_bar,
    )


if __name__ == "__main__":
    main()
