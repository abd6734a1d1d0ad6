"""Stage 6: the results table of every run on this corpus (``reslstm-table``)."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli import stage_entry
from reslstm.results import write_results


@stage_entry
def main(cfg: DictConfig) -> None:
    corpus_dir = Path(cfg.paths.exp_dir) / cfg.data.name
    method = "beam_lm" if "beam_lm" in cfg.decode.methods else cfg.decode.methods[0]
    text = write_results(
        corpus_dir, method, learning_cer=cfg.train.learning_cer, primary=cfg.score.primary
    )
    print(text)
    print(f"(written to {corpus_dir / 'RESULTS.md'}, plots beside it)")


if __name__ == "__main__":
    main()
