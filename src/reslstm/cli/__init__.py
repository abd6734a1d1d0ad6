"""Entry points: one thin Hydra main per stage (``run.sh`` and the console scripts call them),
``check`` and ``layout`` for run.sh, ``transcribe`` and ``convert_checkpoint``."""
