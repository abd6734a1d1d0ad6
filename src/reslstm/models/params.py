"""Parameter counts: measured, and the closed-form counts each cell type declares
(:mod:`.registry`; the paper's cells in :mod:`.paper_cells`, after paper.md's arithmetic)."""

from __future__ import annotations

from torch import nn

from .registry import LayerSpec, get_cell_type


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (buffers such as the CMVN statistics excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_specs(
    num_layers: int,
    input_dim: int,
    cell_dim: int,
    proj_dim: int,
    peepholes: bool,
    bidirectional: bool,
    residual_output_peephole: str,
) -> list[list[LayerSpec]]:
    """The :class:`LayerSpec` of every layer (outer) and direction (inner) of a stack."""
    directions = 2 if bidirectional else 1
    return [
        [
            LayerSpec(
                layer,
                direction,
                input_dim if layer == 0 else directions * proj_dim,
                cell_dim,
                proj_dim,
                peepholes,
                bidirectional,
                residual_output_peephole,
            )
            for direction in range(directions)
        ]
        for layer in range(num_layers)
    ]


def closed_form_num_params(
    cell: str,
    num_layers: int,
    input_dim: int,
    cell_dim: int,
    proj_dim: int,
    peepholes: bool = True,
    bidirectional: bool = False,
    residual_output_peephole: str = "none",
) -> int:
    """Parameters of a whole LSTM stack of ``cell`` (front end and output layer excluded)."""
    count = get_cell_type(cell).num_params
    specs = layer_specs(
        num_layers, input_dim, cell_dim, proj_dim, peepholes, bidirectional,
        residual_output_peephole,
    )  # fmt: skip
    return sum(count(spec) for layer in specs for spec in layer)
