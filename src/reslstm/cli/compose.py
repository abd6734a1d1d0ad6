"""The project's Hydra config (``conf/``), composed the way every stage sees it."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from reslstm.layout import CONFIG_DIR, register_resolvers
from reslstm.schemas import SCHEMAS


def register_config() -> None:
    """What composing conf/ needs first: OmegaConf's resolvers and the typed schemas that
    group files list first in their defaults (``/schema/<group>``, :mod:`reslstm.schemas`)."""
    register_resolvers()
    for group, schema in SCHEMAS.items():
        ConfigStore.instance().store(group="schema", name=group, node=schema)


def compose_config(overrides: list[str]) -> DictConfig:
    """The root config composed with ``overrides`` (as ``./run.sh`` would), unresolved."""
    register_config()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)
