"""Stage 6: the results table of every run on this corpus (``reslstm-table``)."""

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.data.mics import training_mics
from reslstm.layout import Layout
from reslstm.results import write_results
from reslstm.results.claims import TABLE1, TABLE2
from reslstm.results.verdicts import BootstrapConfig


@stage_entry
def main(cfg: DictConfig) -> None:
    results = Layout.of(cfg).results
    method = "beam_lm" if "beam_lm" in cfg.decode.methods else cfg.decode.methods[0]
    # the paper's Table 2 pooled SDM and IHM training data; Table 1 trained on one microphone
    paper = TABLE2 if len(training_mics(cfg.data)) > 1 else TABLE1
    text = write_results(
        results.path,
        method,
        learning_cer=cfg.train.learning_cer,
        primary=cfg.score.primary,
        paper=paper,
        boot=BootstrapConfig(
            cfg.score.bootstrap_samples, cfg.score.bootstrap_seed, cfg.score.confidence
        ),
    )
    print(text)
    print(f"(written to {results.table}, plots beside it)")


if __name__ == "__main__":
    main()
