"""Where every stage reads and writes: the names of the stages' directories and files, defined
once.

The directories themselves come from the config (``paths.*`` in ``conf/config.yaml``:
``manifest_dir``, ``fbank_dir``, ``lang_dir``, ``corpus_exp_dir``, ``run_dir``); the classes
here name what is inside them. Every finished stage directory also holds the completion marker
:data:`reslstm.io.MARKER`. A missing input is reported by :func:`require` in one wording that
names the stage making it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from reslstm.errors import ReslstmError
from reslstm.io import MARKER, is_done

CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"
SPLITS = ("train", "dev", "test")
EVAL_SPLITS = SPLITS[1:]  # scored, never trained on
STAGE_FILE = Path(__file__).with_name("stages.tsv")  # the one definition, run.sh reads it too


def _read_stages(path: Path) -> tuple[str, ...]:
    """The stage names of ``stages.tsv`` in stage order (numbered from 0, as run.sh's)."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r[0] and not r[0].startswith("#")]
    assert [int(r[0]) for r in rows] == list(range(len(rows))), f"{path}: stages out of order"
    return tuple(r[1] for r in rows)


STAGES = _read_stages(STAGE_FILE)  # "data", "features", ..., "table": reslstm.cli.<name>

# conf/config.yaml's paths.run_dir: <exp_dir>/<corpus>/<model>_L<layers><tag>, where the tag
# also holds lang.suffix (``_bpe200`` for BPE tokens, empty for characters)
RUN_NAME = re.compile(r"^(?P<model>.+?)_L(?P<layers>\d+)(?P<tag>.*)$")
EPOCH_FILE = re.compile(r"epoch-(\d+)\.pt")


def train_name(name: str, mic: str, train_mics: Sequence[str] | None) -> str:
    """What a run trains on, as ``paths.corpus_exp_dir`` names it: ``data.name``, plus
    ``+<mic>`` for each other microphone ``data.train_mics`` pools (``mini_sdm+ihm``: SDM and
    IHM training data, dev and test on SDM)."""
    return "+".join([name, *(m for m in dict.fromkeys(train_mics or ()) if m != mic)])


CONFIG_RESOLVERS = {"train_name": train_name}  # the ${name:...} interpolations of conf/


def register_resolvers() -> None:
    """Make :data:`CONFIG_RESOLVERS` known to OmegaConf (before a config from conf/ resolves)."""
    for name, resolver in CONFIG_RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def run_first(stage: int) -> str:
    """The advice for an input that stage ``stage`` makes: ``run stage 2 (tokens) first``."""
    return f"run stage {stage} ({STAGES[stage]}) first"


def require(path: Path, stage: int) -> Path:
    """``path``, or a one-line error naming the stage that makes it."""
    if not path.exists():
        raise ReslstmError(f"missing {path}: {run_first(stage)}")
    return path


def require_done(directory: Path, stage: int) -> Path:
    """``directory`` if stage ``stage`` finished it (its marker exists), else a one-line error."""
    if not is_done(directory):
        raise ReslstmError(f"missing {directory / MARKER}: {run_first(stage)}")
    return directory


def parse_run_name(name: str) -> tuple[str, int, str] | None:
    """``(model, layers, tag)`` of a run directory's name, or None for any other name."""
    match = RUN_NAME.match(name)
    return None if match is None else (match["model"], int(match["layers"]), match["tag"])


def cuts_file(directory: Path, split: str) -> Path:
    """The cut manifest of ``split`` in a manifest or feature directory."""
    return directory / f"cuts_{split}.jsonl.gz"


@dataclass(frozen=True)
class ManifestDir:
    """Stage 0: ``cuts_<split>.jsonl.gz``, lhotse's own manifests in ``raw/``, ``summary.json``."""

    path: Path

    def cuts(self, split: str) -> Path:
        return cuts_file(self.path, split)

    @property
    def raw(self) -> Path:
        return self.path / "raw"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    def supervisions(self, split: str) -> Path:
        """lhotse's supervision manifest of ``split`` (``*supervisions_<split>.jsonl.gz``)."""
        found = sorted(self.raw.glob(f"*supervisions_{split}.jsonl.gz"))
        if len(found) != 1:
            raise ReslstmError(f"missing the {split} supervisions in {self.raw}: {run_first(0)}")
        return found[0]


@dataclass(frozen=True)
class FbankDir:
    """Stage 1: ``cuts_<split>.jsonl.gz`` with features, their storage and ``cmvn.json``."""

    path: Path

    def cuts(self, split: str) -> Path:
        return cuts_file(self.path, split)

    def storage(self, split: str) -> Path:
        return self.path / f"feats_{split}"

    @property
    def cmvn(self) -> Path:
        return self.path / "cmvn.json"


@dataclass(frozen=True)
class LangDir:
    """Stage 2: the token set (``tokens.txt`` for characters, ``bpe.model`` for BPE pieces),
    training vocabulary, lexicon, LM training text and ARPA LM."""

    path: Path

    @property
    def tokens(self) -> Path:
        return self.path / "tokens.txt"

    @property
    def bpe_model(self) -> Path:
        return self.path / "bpe.model"

    @property
    def words(self) -> Path:
        return self.path / "words.txt"

    @property
    def lexicon(self) -> Path:
        return self.path / "lexicon.txt"

    @property
    def lm_text(self) -> Path:
        return self.path / "lm_text.txt"

    @property
    def lm(self) -> Path:
        return self.path / "lm.arpa"


@dataclass(frozen=True)
class DecodeDir:
    """Stages 4-5 for one split and method: ``<run>/decode/<split>_<method>/``."""

    path: Path

    @property
    def split_method(self) -> tuple[str, str]:
        split, _, method = self.path.name.partition("_")
        return split, method

    @property
    def refs(self) -> Path:
        return self.path / "refs.tsv"

    @property
    def hyps(self) -> Path:
        return self.path / "hyps.tsv"

    @property
    def ctm(self) -> Path:
        return self.path / "hyp.ctm"

    @property
    def seglst(self) -> Path:
        return self.path / "hyp.seglst.json"

    @property
    def info(self) -> Path:
        return self.path / "decode.json"

    def decoded(self) -> list[Path]:
        """Stage 4's outputs (stage 5 adds the scores below)."""
        return [self.refs, self.hyps, self.ctm, self.seglst, self.info]

    @property
    def per_utt(self) -> Path:
        return self.path / "per_utt.tsv"

    @property
    def errors(self) -> Path:
        return self.path / "errors.txt"

    @property
    def wer(self) -> Path:
        return self.path / "wer"

    @property
    def scores(self) -> Path:
        return self.path / "scores.json"


@dataclass(frozen=True)
class CheckpointDir:
    """``last.pt`` (the newest state, also mid-epoch), ``epoch-<n>.pt`` (the last
    ``train.keep_last`` epochs) and ``best.pt`` (the lowest dev loss)."""

    path: Path

    def named(self, which: str) -> Path:
        """``best.pt`` or ``last.pt``."""
        return self.path / f"{which}.pt"

    def epoch(self, epoch: int) -> Path:
        return self.path / f"epoch-{epoch}.pt"

    def epochs(self) -> list[Path]:
        """The ``epoch-<n>.pt`` files, oldest first."""
        names = (EPOCH_FILE.fullmatch(p.name) for p in self.path.glob("epoch-*.pt"))
        return [self.epoch(n) for n in sorted(int(m[1]) for m in names if m)]


@dataclass(frozen=True)
class RunDir:
    """Stage 3 writes one per trained model; stages 4-5 write under its ``decode/``."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.path / "train_summary.json"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def checkpoints(self) -> CheckpointDir:
        return CheckpointDir(self.path / "checkpoints")

    @property
    def decode_root(self) -> Path:
        return self.path / "decode"

    def stm(self, split: str) -> Path:
        """The references of ``split`` as an STM file, shared by every decoding method."""
        return self.decode_root / f"{split}.stm"

    def decode(self, split: str, method: str) -> DecodeDir:
        return DecodeDir(self.decode_root / f"{split}_{method}")

    def decodes(self) -> list[DecodeDir]:
        """The decode directories present, sorted by name."""
        return [DecodeDir(p) for p in sorted(self.decode_root.glob("*_*")) if p.is_dir()]


@dataclass(frozen=True)
class ResultsDir:
    """Stage 6: ``<exp_dir>/<corpus>/``, the runs of one corpus and the table of them."""

    path: Path

    @property
    def table(self) -> Path:
        return self.path / "RESULTS.md"

    @property
    def wer_plot(self) -> Path:
        return self.path / "wer_by_depth.png"

    @property
    def seeds_plot(self) -> Path:
        return self.path / "wer_by_depth_seeds.png"

    @property
    def loss_plot(self) -> Path:
        return self.path / "dev_loss.png"

    @property
    def grad_flow_plot(self) -> Path:
        return self.path / "grad_flow.png"

    @property
    def depth_sweep_table(self) -> Path:
        return self.path / "DEPTH_SWEEP.md"

    @property
    def depth_curve_plot(self) -> Path:
        return self.path / "depth_curve.png"


@dataclass(frozen=True)
class Layout:
    """The directories of one configuration (``cfg.paths``)."""

    manifests: ManifestDir
    fbank: FbankDir
    lang: LangDir
    run: RunDir
    results: ResultsDir

    @classmethod
    def of(cls, cfg: Any) -> Layout:
        paths = cfg.paths
        return cls(
            manifests=ManifestDir(Path(paths.manifest_dir)),
            fbank=FbankDir(Path(paths.fbank_dir)),
            lang=LangDir(Path(paths.lang_dir)),
            run=RunDir(Path(paths.run_dir)),
            results=ResultsDir(Path(paths.corpus_exp_dir)),
        )
