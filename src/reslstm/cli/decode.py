"""Stage 4: decoding of one trained run (``reslstm-decode``)."""

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.decode.stage import decode_run


@stage_entry
def main(cfg: DictConfig) -> None:
    decode_run(cfg)


if __name__ == "__main__":
    main()
