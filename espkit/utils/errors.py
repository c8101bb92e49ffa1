"""Errors a user causes and can fix; entry points end them with one ``error:`` line (exit code 2).

Each module raises the most specific of these; others live with the code they describe:
``espkit.fileio.read_text.DataFormatError`` (a data file: names the file and line or the uid),
``espkit.train.checkpoint.CheckpointError`` and ``espkit.train.trainer.NonFiniteTrainingError``.
``espkit.utils.cli_errors.exit_on_error`` turns them into the ``error:`` line.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A user mistake in a config file or an option: shown as one clear line, never a traceback."""
