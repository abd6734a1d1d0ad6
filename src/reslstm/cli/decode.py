"""Stage 4: decoding of one trained run (``reslstm-decode``)."""

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.decode.stage import decode_run
from reslstm.layout import Layout
from reslstm.runlock import sole_writer


@stage_entry
def main(cfg: DictConfig) -> None:
    with sole_writer([Layout.of(cfg).run.path], "reslstm-decode"):
        decode_run(cfg)


if __name__ == "__main__":
    main()
