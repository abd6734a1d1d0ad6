"""Stage 0: data preparation (``reslstm-prepare``)."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.data.prepare import prepare_data


@stage_entry
def main(cfg: DictConfig) -> None:
    prepare_data(cfg.data, Path(cfg.paths.manifest_dir), force=cfg.force)


if __name__ == "__main__":
    main()
