"""Kaldi ``wav.scp`` pipe entries: ``<uid> <command> |`` runs the command and reads its stdout.

>>> run_pipe_command("sox rec1.flac -t wav - |", "utt1", "data/train/wav.scp")  # doctest: +SKIP
b'RIFF...'

Trust model: a pipe entry is a command the corpus owner wrote, run with your rights, just like a
script shipped with the corpus. Read a ``wav.scp`` only from a corpus you would run the scripts
of. espkit runs only commands written in the scp file itself; nothing else (uids, texts, file
names of other tables) is ever put into a command line.

How it runs: a command without shell syntax (``sox x.flac -t wav -``, ``flac -c -d -s x.flac``)
is split like a shell would split it (:func:`shlex.split`: quotes and backslashes) and executed
directly, without a shell. A command with shell syntax -- an operator (``| ; & < > ( )``), a
variable or command substitution (``$``, a backtick) or a glob/tilde (``* ? [ ~``) -- needs a
shell, as Kaldi always uses one: it runs as ``bash -o pipefail -c <command>`` (``/bin/sh -c``
without bash), so that a failure anywhere in a pipeline is a failure.

A command that exits non-zero, cannot be started, or writes nothing to stdout raises
:class:`~espkit.fileio.read_text.DataFormatError` with one line naming the scp file, the uid,
the command and the end of its stderr.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from pathlib import Path

from espkit.fileio.read_text import DataFormatError

logger = logging.getLogger(__name__)

#: characters of shell operators: a token made only of these is an operator
_OPERATOR_CHARS = frozenset("();<>|&")
#: characters that the shell expands (variables, command substitution, globs, ~)
_EXPANSION_CHARS = frozenset("$`*?[~")
#: at most this many characters of a failed command's stderr go into the error message
STDERR_CHARS = 300


def is_pipe_entry(value: str) -> bool:
    """Whether a ``wav.scp`` value is a pipe command (``... |``)."""
    return value.rstrip().endswith("|")


def pipe_argv(command: str) -> list[str] | None:
    """The argument vector of ``command`` (without its trailing ``|``), or None when the
    command uses shell syntax and must run through a shell.

    Raises:
        ValueError: unbalanced quotes, or an empty command.
    """
    command = command.rstrip()
    if command.endswith("|"):
        command = command[:-1]
    if any(c in _EXPANSION_CHARS for c in command):
        return None
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)  # ValueError on unbalanced quotes
    if not tokens:
        raise ValueError("empty command")
    if any(token and set(token) <= _OPERATOR_CHARS for token in tokens):
        return None
    return shlex.split(command)


def _one_line(text: str) -> str:
    """The end of ``text`` as one line (lines joined by " / "), at most :data:`STDERR_CHARS` characters."""
    joined = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= STDERR_CHARS else "..." + joined[-STDERR_CHARS:]


def run_pipe_command(value: str, uid: str, source: str | Path) -> bytes:
    """Run the pipe entry ``value`` (``<command> |``) of ``uid`` in ``source`` and return its stdout.

    Raises:
        DataFormatError: the command cannot be parsed or started, exits non-zero, or writes
            nothing; the message names ``source``, ``uid``, the command and its stderr.
    """
    command = value.rstrip()[:-1].strip() if is_pipe_entry(value) else value.strip()
    where = f"{source}: uid {uid!r}: command {command!r}"
    try:
        argv = pipe_argv(command)
    except ValueError as e:
        raise DataFormatError(f"{where}: cannot be parsed ({e})") from None
    if argv is None:
        bash = shutil.which("bash")
        argv = [bash, "-o", "pipefail", "-c", command] if bash else ["/bin/sh", "-c", command]
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except OSError as e:  # the program does not exist or cannot be executed
        raise DataFormatError(f"{where}: cannot be started: {argv[0]}: {e.strerror or e}") from None
    stderr = _one_line(result.stderr.decode("utf-8", errors="replace"))
    if result.returncode != 0:
        raise DataFormatError(f"{where} failed with exit status {result.returncode}: {stderr or '(no stderr)'}")
    if not result.stdout:
        raise DataFormatError(f"{where} wrote nothing to stdout{': ' + stderr if stderr else ''}")
    logger.debug("%s: %d bytes", where, len(result.stdout))
    return result.stdout
