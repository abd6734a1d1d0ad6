"""Print a directory of the recipe for the given overrides, as every stage would compute it.

``run.sh`` asks it for run directories instead of re-deriving their names:
``python -m reslstm.cli.layout run-dir model=plain_lstm model.num_layers=3`` prints
``exp/mini_sdm/plain_lstm_L3``. The names are the ``paths.*`` keys of ``conf/config.yaml``
with dashes (``manifest-dir``, ``fbank-dir``, ``lang-dir``, ``corpus-exp-dir``, ``run-dir``).
"""

from __future__ import annotations

import sys

from omegaconf import OmegaConf

from reslstm.cli.compose import compose_config


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    paths = OmegaConf.to_container(compose_config(args[1:]).paths, resolve=True)
    names = {key.replace("_", "-"): value for key, value in paths.items()}
    if not args or args[0] not in names:
        print(
            f"usage: python -m reslstm.cli.layout {{{','.join(names)}}} [overrides]",
            file=sys.stderr,
        )
        sys.exit(2)
    print(names[args[0]])


if __name__ == "__main__":
    main()
