"""Plain, highway and residual LSTM stacks and the CTC acoustic model built from them."""

from .build import build_model, validate_config
from .cells import HighwayCell, LSTMCellBase, PlainCell, ResidualCell
from .ctc_model import CTCModel
from .params import closed_form_num_params, count_parameters, layer_num_params
from .recurrent import LSTMStack

__all__ = [
    "CTCModel",
    "HighwayCell",
    "LSTMCellBase",
    "LSTMStack",
    "PlainCell",
    "ResidualCell",
    "build_model",
    "closed_form_num_params",
    "count_parameters",
    "layer_num_params",
    "validate_config",
]
