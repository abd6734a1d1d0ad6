"""Compose the config once with the given overrides and report any error in one line.

``run.sh`` calls this before the first stage so that a typo fails fast and clearly:
``python -m reslstm.cli.check model.no_such_key=1`` → ``error: bad override …``.
"""

from __future__ import annotations

import sys

from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from reslstm.cli.compose import compose_config
from reslstm.data.mics import training_mics
from reslstm.errors import ReslstmError
from reslstm.models import validate_config


def check_overrides(overrides: list[str]) -> str | None:
    """One-line error message, or None when the config composes, resolves, names microphones
    the corpus has and builds a model."""
    try:
        cfg = compose_config(overrides)
        OmegaConf.to_container(cfg, throw_on_missing=True)  # a `???` nobody set
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException, ValueError) as e:
        first = " ".join(str(e).split("\n")[0].split())
        detail = [ln.strip() for ln in str(e).split("\n")[1:] if ln.strip()]
        if isinstance(e.__cause__, OmegaConfBaseException):  # why Hydra's merge failed
            reason, *cause_detail = [ln.strip() for ln in str(e.__cause__).split("\n")]
            first = f"{first}: {reason}"
            detail += cause_detail
        hint = next(
            (d for d in detail if d.startswith(("Key ", "To append", "Available", "full_key"))), ""
        )
        return f"bad override in [{' '.join(overrides)}]: {first} {hint}".strip()
    try:
        training_mics(cfg.data)
        validate_config(OmegaConf.to_container(cfg.model, resolve=True))
    except (ReslstmError, ValueError) as e:
        return str(e)
    return None


def main() -> None:
    # Sweep values (a,b) only matter with -m; check the first value of each.
    overrides = [o for o in sys.argv[1:] if o not in ("-m", "--multirun")]
    message = check_overrides([_first_value(o) for o in overrides])
    if message:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def _first_value(override: str) -> str:
    key, sep, value = override.partition("=")
    if not sep or value.startswith(("[", "{", "'", '"')) or "," not in value:
        return override
    return f"{key}={value.split(',')[0]}"


if __name__ == "__main__":
    main()
