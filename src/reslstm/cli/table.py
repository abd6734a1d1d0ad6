"""Stage 6: the results table of every run on this corpus (``reslstm-table``)."""

from omegaconf import DictConfig

from reslstm.batches import load_cuts
from reslstm.cli.stage import stage_entry
from reslstm.data.mics import training_mics
from reslstm.layout import EVAL_SPLITS, Layout, ManifestDir
from reslstm.results import write_results
from reslstm.results.claims import TABLE1, TABLE2
from reslstm.results.verdicts import BootstrapConfig
from reslstm.runlock import sole_writer


def segment_speakers(manifests: ManifestDir) -> dict[str, str]:
    """Cut id -> speaker of the scored splits' segments (empty where stage 0 left none)."""
    speakers = {}
    for split in EVAL_SPLITS:
        path = manifests.cuts(split)
        if path.is_file():
            speakers |= {c.id: c.supervisions[0].speaker or "" for c in load_cuts(path)}
    return speakers


@stage_entry
def main(cfg: DictConfig) -> None:
    layout = Layout.of(cfg)
    results = layout.results
    method = "beam_lm" if "beam_lm" in cfg.decode.methods else cfg.decode.methods[0]
    # the paper's Table 2 pooled SDM and IHM training data; Table 1 trained on one microphone
    paper = TABLE2 if len(training_mics(cfg.data)) > 1 else TABLE1
    with sole_writer([results.path], "reslstm-table"):
        text = write_results(
            results.path,
            method,
            learning_cer=cfg.train.learning_cer,
            primary=cfg.score.primary,
            paper=paper,
            boot=BootstrapConfig(
                cfg.score.bootstrap_samples, cfg.score.bootstrap_seed, cfg.score.confidence
            ),
            speakers=segment_speakers(layout.manifests),
        )
    print(text)
    print(f"(written to {results.table}, plots beside it)")


if __name__ == "__main__":
    main()
