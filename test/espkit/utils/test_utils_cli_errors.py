"""exit_on_error: one ``error:`` line and exit code 2 for the errors a user can fix."""

import logging

import pytest
import torch

from espkit.utils.cli_errors import error_message, exit_on_error


def _fail_in_worker(_):
    from espkit.fileio.read_text import DataFormatError

    raise DataFormatError("data/wav.scp:3: uid 'u3' has no value")


def test_an_error_raised_in_a_dataloader_worker_keeps_only_its_own_message():
    from espkit.fileio.read_text import DataFormatError

    loader = torch.utils.data.DataLoader(range(2), num_workers=1, collate_fn=_fail_in_worker)
    with pytest.raises(DataFormatError) as caught:
        next(iter(loader))
    assert "Original Traceback" in str(caught.value)  # what torch re-raises
    assert error_message(caught.value) == "data/wav.scp:3: uid 'u3' has no value"
    assert error_message(ValueError("plain")) == "plain"


def test_exit_on_error_prints_one_line_and_exits_2(capsys):
    logger = logging.getLogger("espkit.test_cli_errors")
    with pytest.raises(SystemExit) as caught:
        with exit_on_error((ValueError,), logger, prog="tool"):
            raise ValueError("data/text:3: bad line")
    assert caught.value.code == 2
    assert capsys.readouterr().err == "tool: error: data/text:3: bad line\n"
    with pytest.raises(KeyError):  # not a user error: the traceback is kept
        with exit_on_error((ValueError,), logger, prog="tool"):
            raise KeyError("bug")
