"""Stage 5: scoring of one run's decodes (``reslstm-score``)."""

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.scoring.stage import score_run


@stage_entry
def main(cfg: DictConfig) -> None:
    score_run(cfg)


if __name__ == "__main__":
    main()
