"""Stage 1: fbank features and CMVN (``reslstm-features``), for every microphone the run
trains on."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.data.mics import conditions
from reslstm.features.extract import compute_features
from reslstm.runlock import sole_writer


@stage_entry
def main(cfg: DictConfig) -> None:
    mics = conditions(cfg)
    with sole_writer([Path(mic.paths.fbank_dir) for mic in mics], "reslstm-features"):
        for mic in mics:  # data.mic's first; each skips itself when already done
            compute_features(
                cfg.features,
                Path(mic.paths.manifest_dir),
                Path(mic.paths.fbank_dir),
                force=cfg.force,
                progress=cfg.progress_bar,
            )


if __name__ == "__main__":
    main()
