"""Cell types by the name ``model.cell`` uses: the one table that every part of the stack reads.

A cell type declares, in one :class:`CellType` entry:

* ``make``: the cell module of one layer and direction (its equations live in its class,
  :mod:`.cells`);
* ``num_params``: its closed-form parameter count (checked against the built module by tests);
* ``kernels``: the fused forward/backward (:mod:`.fused`) of each cell module class that
  ``make`` returns; none: the eager loop only;
* ``reads_lower_cell``: it takes the lower layer's cell sequence as ``aux`` (highway);
* ``torch_lstm_exact``: ``torch.nn.LSTM`` computes it exactly for a given ``peepholes``
  setting (:mod:`.torch_lstm` then runs it).

The paper's three cells are registered by :mod:`.paper_cells`; another cell is one
:func:`register_cell` call (docs/architecture.md, "How to add a cell").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LayerSpec:
    """What the cell of one layer and direction is built from: its place in the stack and the
    ``model`` config's sizes and options."""

    layer: int  # 0-based
    direction: int  # 0 forward, 1 backward
    input_size: int
    cell_size: int
    proj_size: int
    peepholes: bool
    bidirectional: bool
    residual_output_peephole: str

    @property
    def shortcut(self) -> slice | None:
        """The features of the layer input a shortcut reads: the same-direction half of a
        bidirectional lower layer (which keeps it the identity), else all of them."""
        if self.bidirectional and self.layer > 0:
            return slice(self.direction * self.proj_size, (self.direction + 1) * self.proj_size)
        return None

    @property
    def shortcut_size(self) -> int:
        return len(range(self.input_size)[self.shortcut or slice(None)])


@dataclass(frozen=True)
class CellType:
    """One cell type of ``model.cell`` (see the module docstring)."""

    name: str
    make: Callable[[LayerSpec], Any]  # -> an LSTMCellBase
    num_params: Callable[[LayerSpec], int]
    kernels: Mapping[type, type] = field(default_factory=dict)  # cell class -> fused Kernel
    reads_lower_cell: bool = False
    torch_lstm_exact: Callable[[bool], bool] = lambda peepholes: False


CELL_TYPES: dict[str, CellType] = {}


def register_cell(cell_type: CellType) -> CellType:
    """Make ``cell_type`` available as ``model.cell=<its name>``; returns it."""
    if cell_type.name in CELL_TYPES and CELL_TYPES[cell_type.name] != cell_type:
        raise ValueError(f"cell type {cell_type.name!r} is already registered")
    CELL_TYPES[cell_type.name] = cell_type
    return cell_type


def get_cell_type(name: str) -> CellType:
    """The registered cell type ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return CELL_TYPES[name]
    except KeyError:
        raise ValueError(f"cell must be one of {tuple(CELL_TYPES)}, got {name!r}") from None
