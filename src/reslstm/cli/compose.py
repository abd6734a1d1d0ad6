"""The project's Hydra config (``conf/``), composed the way every stage sees it."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from reslstm.layout import CONFIG_DIR, register_resolvers


def compose_config(overrides: list[str]) -> DictConfig:
    """The root config composed with ``overrides`` (as ``./run.sh`` would), unresolved."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)
