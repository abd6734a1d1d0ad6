"""The paper's three cell types, registered under the names ``model.cell`` uses.

Each entry names the cell's module (equations: :mod:`.cells`, paper.md), its fused kernel
(:mod:`.fused`) and its closed-form parameter count (paper.md's arithmetic), so that
:mod:`.registry` is the only table the stack reads.
"""

from __future__ import annotations

from .cells import HighwayCell, PlainCell, ResidualCell
from .fused import HighwayKernel, PlainKernel, ResidualKernel
from .registry import CellType, LayerSpec, register_cell


def _plain_params(spec: LayerSpec) -> int:
    """4 gates x (W_x, W_h) + 4 biases + 3 peepholes + the projection W_p."""
    n_in, n_c, n_p = spec.input_size, spec.cell_size, spec.proj_size
    return 4 * n_c * (n_in + n_p) + 4 * n_c + (3 * n_c if spec.peepholes else 0) + n_p * n_c


def _plain(spec: LayerSpec) -> PlainCell:
    return PlainCell(spec.input_size, spec.cell_size, spec.proj_size, spec.peepholes)


def _highway(spec: LayerSpec) -> PlainCell:
    """Highway layers start at the second layer: the first has no lower cell."""
    if spec.layer == 0:
        return _plain(spec)
    return HighwayCell(spec.input_size, spec.cell_size, spec.proj_size, spec.peepholes)


def _highway_params(spec: LayerSpec) -> int:
    depth_gate = spec.cell_size * spec.input_size + 3 * spec.cell_size  # W_xd, b_d, w_cd, w_ld
    return _plain_params(spec) + (depth_gate if spec.layer > 0 else 0)


def _residual(spec: LayerSpec) -> ResidualCell:
    """A bidirectional layer above the first takes its shortcut from the same-direction half
    of the layer below (:attr:`LayerSpec.shortcut`), which keeps it the identity."""
    return ResidualCell(
        spec.input_size,
        spec.cell_size,
        spec.proj_size,
        spec.peepholes,
        spec.residual_output_peephole,
        spec.shortcut,
    )


def _residual_params(spec: LayerSpec) -> int:
    n_in, n_c, n_p, sc = spec.input_size, spec.cell_size, spec.proj_size, spec.shortcut_size
    count = 3 * n_c * (n_in + n_p) + n_p * (n_in + n_p)  # i, f, g (n_c) and o (n_p) weights
    count += 3 * n_c + n_p  # biases
    count += 2 * n_c if spec.peepholes else 0  # w_ci, w_cf
    count += n_p * n_c  # W_p
    count += n_p * sc if sc != n_p else 0  # W_h where the shortcut changes size
    count += n_p * n_c if spec.residual_output_peephole == "full" else 0  # W_co
    return count


PLAIN = register_cell(
    CellType(
        "plain",
        _plain,
        _plain_params,
        kernels={PlainCell: PlainKernel},
        torch_lstm_exact=lambda peepholes: not peepholes,
    )
)
HIGHWAY = register_cell(
    CellType(
        "highway",
        _highway,
        _highway_params,
        kernels={PlainCell: PlainKernel, HighwayCell: HighwayKernel},  # layer 1 is plain
        reads_lower_cell=True,
    )
)
RESIDUAL = register_cell(
    CellType("residual", _residual, _residual_params, kernels={ResidualCell: ResidualKernel})
)
