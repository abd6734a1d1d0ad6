"""The error type for problems a user can fix (bad input, bad config, missing files).

Stage entry points print these as one line and exit with status 2; anything else is a bug and
keeps its traceback.
"""


class ReslstmError(RuntimeError):
    """A user-facing error whose message alone says what is wrong and how to fix it."""
