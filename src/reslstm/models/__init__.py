"""Plain, highway and residual LSTM stacks and the CTC acoustic model built from them."""

from . import paper_cells  # noqa: F401 - registers plain, highway, residual
from .build import build_model, validate_config
from .cells import HighwayCell, LSTMCellBase, PlainCell, ResidualCell
from .ctc_model import CTCModel
from .params import closed_form_num_params, count_parameters
from .recurrent import LSTMStack
from .registry import CELL_TYPES, CellType, LayerSpec, get_cell_type, register_cell

__all__ = [
    "CELL_TYPES",
    "CTCModel",
    "CellType",
    "LayerSpec",
    "HighwayCell",
    "LSTMCellBase",
    "LSTMStack",
    "PlainCell",
    "ResidualCell",
    "build_model",
    "closed_form_num_params",
    "count_parameters",
    "get_cell_type",
    "register_cell",
    "validate_config",
]
