"""atomic_write: the target holds the old or the complete new file; no temporary file is left."""

import os

import pytest

from espkit.fileio.atomic_file import atomic_write


def test_the_file_appears_complete_and_nothing_else_is_left(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("first\n")
        assert not path.exists()  # only the temporary file so far
    assert path.read_text() == "first\n"
    with atomic_write(path, "wb", durable=True) as f:
        f.write(b"second\n")
    assert path.read_bytes() == b"second\n"
    assert os.listdir(path.parent) == ["out.txt"]


def test_a_failure_keeps_the_previous_file_and_removes_the_temporary_one(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path, "w") as f:
            f.write("half")
            raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(path, "a"):
            pass
