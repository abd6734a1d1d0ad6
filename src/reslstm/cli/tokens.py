"""Stage 2: tokens, lexicon and n-gram LM (``reslstm-tokens``)."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.lang.prepare import prepare_lang
from reslstm.runlock import sole_writer


@stage_entry
def main(cfg: DictConfig) -> None:
    lang = Path(cfg.paths.lang_dir)
    with sole_writer([lang], "reslstm-tokens"):
        prepare_lang(cfg.lang, Path(cfg.paths.manifest_dir), lang, force=cfg.force)


if __name__ == "__main__":
    main()
