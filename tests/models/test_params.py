"""Parameter counts: modules vs closed-form formulas vs paper.md's per-layer arithmetic."""

from __future__ import annotations

import itertools

import pytest
import torch

from reslstm.models import (
    HighwayCell,
    LayerSpec,
    PlainCell,
    ResidualCell,
    closed_form_num_params,
    count_parameters,
    get_cell_type,
)

PAPER = {"cell_dim": 1024, "proj_dim": 512}


@pytest.mark.parametrize(
    "cell,num_layers,peepholes,bidirectional,out_peep",
    [
        (cell, layers, peep, bi, op)
        for cell, layers, peep, bi, op in itertools.product(
            ["plain", "highway", "residual"], [1, 3], [True, False], [False, True], ["none", "full"]
        )
        if op == "none" or (cell == "residual" and peep)
    ],
)
def test_counts_match_closed_form(cell, num_layers, peepholes, bidirectional, out_peep, lstm_stack):
    for input_dim, cell_dim, proj_dim in [(7, 6, 4), (4, 6, 4), (8, 5, 4)]:
        stack = lstm_stack(
            cell,
            num_layers,
            input_dim,
            cell_dim,
            proj_dim,
            peepholes=peepholes,
            bidirectional=bidirectional,
            residual_output_peephole=out_peep,
        )
        expected = closed_form_num_params(
            cell, num_layers, input_dim, cell_dim, proj_dim, peepholes, bidirectional, out_peep
        )
        assert count_parameters(stack) == expected


def test_paper_per_layer_numbers():
    torch.manual_seed(0)
    n_in, n_c, n_p = 512, 1024, 512
    expected = {"plain": 4_725_760, "highway": 5_253_120, "residual": 4_199_936}
    for cell, count in expected.items():
        spec = LayerSpec(1, 0, n_in, n_c, n_p, True, False, "none")  # a second layer
        assert get_cell_type(cell).num_params(spec) == count
    assert count_parameters(PlainCell(n_in, n_c, n_p, True)) == expected["plain"]
    assert count_parameters(HighwayCell(n_in, n_c, n_p, True)) == expected["highway"]
    assert count_parameters(ResidualCell(n_in, n_c, n_p, True)) == expected["residual"]


@pytest.mark.parametrize("num_layers", [3, 10])
@pytest.mark.parametrize("input_dim", [80, 240])  # plain 80-dim fbank, or 3 frames stacked
def test_residual_is_over_ten_percent_smaller_than_highway(num_layers, input_dim):
    highway = closed_form_num_params("highway", num_layers, input_dim, **PAPER)
    residual = closed_form_num_params("residual", num_layers, input_dim, **PAPER)
    assert residual < 0.9 * highway
