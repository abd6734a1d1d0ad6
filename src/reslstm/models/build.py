"""Model construction from the Hydra ``model`` config, with one-line errors for bad configs.

The config must name every key of :data:`KEYS`: their values live in ``conf/model/`` only
(``common.yaml`` and the model and size configs), never as defaults in the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cells import INIT_SCHEMES
from .ctc_model import CTCModel
from .frontend import FrontEnd
from .recurrent import LSTMStack
from .registry import get_cell_type

IMPL_CHOICES = ("auto", "loop", "fused", "torch_lstm")
KEYS = (
    "name",
    "cell",
    "num_layers",
    "cell_dim",
    "proj_dim",
    "peepholes",
    "bidirectional",
    "dropout",
    "subsampling",
    "residual_output_peephole",
    "init",
    "impl",
)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"bad model config: {message}")


def resolve_impl(impl: str, cell: str, peepholes: bool) -> str:
    """``auto`` -> ``torch_lstm`` where ``torch.nn.LSTM`` is exact (plain cells without
    peepholes), else ``fused`` where the cell type has a kernel, else ``loop``."""
    cell_type = get_cell_type(cell)
    exact_torch_lstm = cell_type.torch_lstm_exact(peepholes)
    if impl == "auto":
        if exact_torch_lstm:
            return "torch_lstm"
        return "fused" if cell_type.kernels else "loop"
    _check(
        impl != "torch_lstm" or exact_torch_lstm,
        "impl=torch_lstm needs cell=plain and peepholes=false",
    )
    _check(impl != "fused" or bool(cell_type.kernels), f"cell {cell} has no fused kernel")
    return impl


def validate_config(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Return the config with ``impl`` resolved; raise ``ValueError`` on anything unusable."""
    cfg = dict(model_cfg)
    unknown = sorted(set(cfg) - set(KEYS))
    _check(not unknown, f"unknown keys {unknown}")
    missing = [k for k in KEYS if k not in cfg]
    _check(not missing, f"missing keys {missing}")
    try:
        get_cell_type(cfg["cell"])
    except ValueError as e:
        _check(False, str(e))
    for key in ("num_layers", "cell_dim", "proj_dim", "subsampling"):
        value = cfg[key]
        _check(isinstance(value, int) and value >= 1, f"{key} must be an integer >= 1")
    _check(
        cfg["proj_dim"] <= cfg["cell_dim"],
        f"proj_dim ({cfg['proj_dim']}) must not exceed cell_dim ({cfg['cell_dim']}) for LSTMP",
    )
    _check(0.0 <= float(cfg["dropout"]) < 1.0, "dropout must be in [0, 1)")
    _check(
        cfg["residual_output_peephole"] in ("none", "full"),
        "residual_output_peephole must be none or full",
    )
    _check(
        cfg["residual_output_peephole"] == "none" or cfg["peepholes"],
        "residual_output_peephole=full needs peepholes=true",
    )
    _check(cfg["init"] in INIT_SCHEMES, f"init must be one of {INIT_SCHEMES}")
    _check(cfg["impl"] in IMPL_CHOICES, f"impl must be one of {IMPL_CHOICES}")
    cfg["impl"] = resolve_impl(cfg["impl"], cfg["cell"], bool(cfg["peepholes"]))
    return cfg


def build_model(model_cfg: Mapping[str, Any], input_dim: int, vocab_size: int) -> CTCModel:
    """Build the CTC model described by the ``model`` config for ``input_dim`` features."""
    cfg = validate_config(model_cfg)
    _check(input_dim >= 1 and vocab_size >= 2, "need input_dim >= 1 and vocab_size >= 2")
    frontend = FrontEnd(input_dim, cfg["subsampling"])
    encoder = LSTMStack(
        cell=cfg["cell"],
        num_layers=cfg["num_layers"],
        input_size=frontend.output_dim,
        cell_size=cfg["cell_dim"],
        proj_size=cfg["proj_dim"],
        peepholes=bool(cfg["peepholes"]),
        bidirectional=bool(cfg["bidirectional"]),
        dropout=float(cfg["dropout"]),
        residual_output_peephole=cfg["residual_output_peephole"],
        impl=cfg["impl"],
        init=cfg["init"],
    )
    return CTCModel(frontend, encoder, vocab_size)
