"""The wrapper that turns a stage function into a Hydra entry point."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from reslstm.cli.compose import register_config
from reslstm.errors import ReslstmError
from reslstm.layout import CONFIG_DIR
from reslstm.runtime import set_tf32, set_threads


def stage_entry(fn: Callable[[DictConfig], object]) -> Callable[[], None]:
    """Wrap ``fn(cfg)`` as a ``@hydra.main`` entry point on the project's ``conf/``.

    User-fixable errors (:class:`ReslstmError`) become one ``error: …`` line and exit status 2.
    """
    register_config()

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
    @functools.wraps(fn)
    def main(cfg: DictConfig) -> None:
        set_threads(cfg.num_threads)
        try:
            set_tf32(cfg.tf32)
            fn(cfg)
        except ReslstmError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            sys.exit(2)

    return main
