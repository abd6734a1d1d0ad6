"""Extending the recipe without editing it (docs/architecture.md, "How to add ..."): a fourth
cell type and a new scorer, registered here, train, decode, score and show in RESULTS.md.

The toy cell is a plain LSTM without projection (``h_t = o_t ⊙ tanh(c_t)``, so n_p = n_c) and
without a fused kernel (it runs the eager loop); the toy scorer counts hypothesis words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from reslstm.decode.stage import decode_run
from reslstm.layout import Layout
from reslstm.models import CELL_TYPES, CellType, LayerSpec, PlainCell, register_cell
from reslstm.results import write_results
from reslstm.scoring.methods import (
    SCORING_METHODS,
    ScoreInputs,
    ScoringMethod,
    register_scoring_method,
)
from reslstm.scoring.stage import score_run
from reslstm.train.trainer import Trainer
from tests.helpers import tiny_training


class NoProjectionCell(PlainCell):
    """LSTM without the recurrent projection: h_t = m_t = o_t ⊙ tanh(c_t)."""

    def __init__(self, input_size: int, cell_size: int, proj_size: int, peepholes: bool) -> None:
        if proj_size != cell_size:
            raise ValueError("a cell without projection needs proj_dim == cell_dim")
        super().__init__(input_size, cell_size, proj_size, peepholes)
        del self.weight_proj  # no W_p

    def _output(self, zo: Tensor, aux_t: Tensor | None, c_new: Tensor) -> Tensor:
        if self.peephole is not None:
            zo = zo + self.peephole[2] * c_new
        return torch.sigmoid(zo) * torch.tanh(c_new)  # h_t = o_t ⊙ tanh(c_t)


def _no_projection_params(spec: LayerSpec) -> int:
    n_in, n_c = spec.input_size, spec.cell_size
    return 4 * n_c * (n_in + n_c) + 4 * n_c + (3 * n_c if spec.peepholes else 0)


def _hyp_words(inputs: ScoreInputs) -> dict[str, Any]:
    return {"hyp_words": {"count": sum(len(h.split()) for h in inputs.hyps.values())}}


@pytest.fixture
def registered() -> Any:
    cell = CellType(
        "noproj",
        lambda s: NoProjectionCell(s.input_size, s.cell_size, s.proj_size, s.peepholes),
        _no_projection_params,
    )
    scorer = ScoringMethod("hyp_words", _hyp_words, {"hyp words": ("hyp_words", "count")})
    yield register_cell(cell), register_scoring_method(scorer)
    del CELL_TYPES["noproj"], SCORING_METHODS["hyp_words"]


@pytest.mark.slow
def test_a_registered_cell_and_scorer_train_decode_and_show_in_the_table(
    registered: Any, tiny_prepared: Path, tmp_path: Path, tiny_config: Any
) -> None:
    overrides = tiny_training(tiny_prepared, tmp_path)[1:]
    cfg = tiny_config(
        *overrides,
        "model.name=noproj_lstm",
        "model.cell=noproj",
        "model.proj_dim=32",
        "train.max_epochs=1",
        "score.methods=[jiwer,hyp_words]",
        "progress_bar=false",
    )
    trainer = Trainer(cfg)
    encoder = trainer.model.encoder
    assert encoder.layers[0].impl == "loop"  # no fused kernel registered: the eager loop
    assert sum(p.numel() for p in encoder.parameters()) == sum(
        _no_projection_params(LayerSpec(n, 0, size, 32, 32, True, False, "none"))
        for n, size in enumerate([encoder.layers[0].cells[0].input_size, 32])
    )
    trainer.run()
    decode_run(cfg)
    score_run(cfg)
    run = Layout.of(cfg).run
    scores = json.loads(run.decode("dev", "greedy").scores.read_text())
    assert set(scores) >= {"wer", "hyp_words"}
    text = write_results(run.path.parent, method="greedy")
    assert any(line.startswith("| noproj_lstm | 2 |") for line in text.splitlines())
    scorers = text.split("### Scoring methods compared")[1].split("\n\n")[1]
    assert "| hyp words |" in scorers.splitlines()[0]
