"""Parameter counts: measured, and the closed-form formulas of paper.md for the LSTM stacks."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (buffers such as the CMVN statistics excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_num_params(
    cell: str,
    layer: int,
    input_dim: int,
    cell_dim: int,
    proj_dim: int,
    peepholes: bool = True,
    shortcut_dim: int | None = None,
    residual_output_peephole: str = "none",
) -> int:
    """Parameters of one direction of layer ``layer`` (0-based) with ``input_dim`` inputs.

    ``shortcut_dim`` is the size of the residual shortcut's source (``input_dim`` by default).
    """
    n_in, n_c, n_p = input_dim, cell_dim, proj_dim
    if cell in ("plain", "highway"):
        # 4 gates x (W_x, W_h) + 4 biases + 3 peepholes + projection W_p
        count = 4 * n_c * (n_in + n_p) + 4 * n_c + (3 * n_c if peepholes else 0) + n_p * n_c
        if cell == "highway" and layer > 0:
            count += n_c * n_in + 3 * n_c  # depth gate: W_xd, b_d, w_cd, w_ld
        return count
    if cell == "residual":
        sc = n_in if shortcut_dim is None else shortcut_dim
        count = 3 * n_c * (n_in + n_p) + n_p * (n_in + n_p)  # i, f, g (n_c) and o (n_p) weights
        count += 3 * n_c + n_p  # biases
        count += 2 * n_c if peepholes else 0  # w_ci, w_cf
        count += n_p * n_c  # W_p
        count += n_p * sc if sc != n_p else 0  # W_h where the shortcut changes size
        count += n_p * n_c if residual_output_peephole == "full" else 0  # W_co
        return count
    raise ValueError(f"unknown cell type {cell!r}")


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
    """Parameters of a whole LSTM stack (front end and output layer excluded)."""
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        n_in = input_dim if layer == 0 else directions * proj_dim
        sc = proj_dim if bidirectional and layer > 0 else n_in
        total += directions * layer_num_params(
            cell, layer, n_in, cell_dim, proj_dim, peepholes, sc, residual_output_peephole
        )
    return total
