"""Which wav.scp pipe commands run without a shell, and how their failures read."""

import sys

import pytest

from espkit.fileio.pipe_command import STDERR_CHARS, is_pipe_entry, pipe_argv, run_pipe_command
from espkit.fileio.read_text import DataFormatError


@pytest.mark.parametrize(
    "command, argv",
    [
        ("sox x.flac -t wav - |", ["sox", "x.flac", "-t", "wav", "-"]),
        ("flac -c -d -s 'a b.flac'|", ["flac", "-c", "-d", "-s", "a b.flac"]),
        ('sox "x|y.flac" -t wav - |', ["sox", "x|y.flac", "-t", "wav", "-"]),  # quoted: a file name
        (r"cat a\ b.wav |", ["cat", "a b.wav"]),
    ],
)
def test_commands_without_shell_syntax_run_as_argv(command, argv):
    assert is_pipe_entry(command)
    assert pipe_argv(command) == argv


@pytest.mark.parametrize(
    "command",
    [
        "sox x.flac -t wav - | sox - -r 16000 -t wav - |",
        "sph2pipe -f wav x.sph 2>/dev/null |",
        "$KALDI_ROOT/tools/sph2pipe -f wav x.sph |",
        "cat `ls *.wav` |",
        "cat ~/x.wav |",
        "a; b |",
        "a && b |",
    ],
)
def test_commands_with_shell_syntax_need_a_shell(command):
    assert pipe_argv(command) is None


def test_is_pipe_entry():
    assert is_pipe_entry("cat x |  ") and not is_pipe_entry("/data/x.wav")


def test_unparsable_and_empty_commands():
    with pytest.raises(ValueError, match="closing quotation"):
        pipe_argv("cat 'x |")
    with pytest.raises(ValueError, match="empty command"):
        pipe_argv(" |")


def test_run_pipe_command_returns_stdout_and_truncates_stderr(tmp_path):
    assert run_pipe_command("printf abc |", "u", "wav.scp") == b"abc"
    assert run_pipe_command("printf abc | tr a x |", "u", "wav.scp") == b"xbc"
    code = "import sys; sys.stderr.write('first\\nsecond\\n' + 'y' * 2000); sys.exit(4)"
    command = f'{sys.executable} -c "{code}"'
    with pytest.raises(DataFormatError) as e:
        run_pipe_command(command + " |", "u9", "data/wav.scp")
    message = str(e.value)
    assert message.startswith("data/wav.scp: uid 'u9': command ") and "failed with exit status 4: ..." in message
    assert "\n" not in message and message.endswith("y" * 100)
    assert (
        len(message)
        <= len(f"data/wav.scp: uid 'u9': command {command!r} failed with exit status 4: ...") + STDERR_CHARS
    )
