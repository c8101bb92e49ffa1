import os
import re

import numpy as np
import pytest

from espkit.fileio.read_text import (
    DataFormatError,
    load_num_sequence_text,
    read_2columns_text,
    read_label,
    read_multi_columns_text,
    write_2columns_text,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_read_2columns_text_keeps_order_and_rest_of_line(tmp_path):
    p = write(tmp_path / "text", "utt2 hello  big world  \nutt1\tone\n\n   \nutt3 x\r\n")
    d = read_2columns_text(p)
    assert list(d) == ["utt2", "utt1", "utt3"]
    assert d == {"utt2": "hello  big world", "utt1": "one", "utt3": "x"}


def test_read_2columns_text_no_value(tmp_path):
    p = write(tmp_path / "text", "utt1 a\n\nutt2\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{p}:3: uid 'utt2' has no value")):
        read_2columns_text(p)


def test_read_2columns_text_duplicate_names_both_lines(tmp_path):
    p = write(tmp_path / "text", "utt1 a\nutt2 b\nutt1 c\n")
    with pytest.raises(DataFormatError) as e:
        read_2columns_text(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:3:")
    assert "duplicate uid 'utt1'" in msg and "line 1" in msg and "line 3" in msg


def test_read_2columns_text_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope"))):
        read_2columns_text(tmp_path / "nope")


def test_read_2columns_text_bad_utf8(tmp_path):
    p = tmp_path / "text"
    p.write_bytes(b"utt1 ok\nutt2 \xff\xfe\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{p}:2: not valid UTF-8")):
        read_2columns_text(p)


def test_data_format_error_is_value_error():
    assert issubclass(DataFormatError, ValueError)


def test_read_multi_columns_text(tmp_path):
    p = write(tmp_path / "utt2cols", "a 1 2  3\nb x\n")
    assert read_multi_columns_text(p) == ({"a": ["1", "2", "3"], "b": ["x"]}, None)
    columns, unsplit = read_multi_columns_text(p, return_unsplit=True)
    assert columns == {"a": ["1", "2", "3"], "b": ["x"]}
    assert unsplit == {"a": "1 2  3", "b": "x"}
    write(p, "a 1\nb\n")
    with pytest.raises(DataFormatError, match=":2: uid 'b' has no value"):
        read_multi_columns_text(p)
    write(p, "a 1\na 2\n")
    with pytest.raises(DataFormatError, match=":2: duplicate uid 'a'"):
        read_multi_columns_text(p)
    with pytest.raises(RuntimeError, match="duplicate uid"):  # ESPnet2's readers raise RuntimeError
        read_multi_columns_text(p)


@pytest.mark.parametrize(
    "loader_type, text, expected, dtype",
    [
        ("csv_int", "u1 1,2,-3\nu2 7\n", {"u1": [1, 2, -3], "u2": [7]}, np.int64),
        ("csv_float", "u1 0.5, 1e-3\n", {"u1": [0.5, 1e-3]}, np.float64),
        ("text_int", "u1 4 5  6\n", {"u1": [4, 5, 6]}, np.int64),
        ("text_float", "u1 -1.5 2\n", {"u1": [-1.5, 2.0]}, np.float64),
    ],
)
def test_load_num_sequence_text(tmp_path, loader_type, text, expected, dtype):
    p = write(tmp_path / "seq", text)
    d = load_num_sequence_text(p, loader_type)
    assert list(d) == list(expected)
    for uid, values in expected.items():
        assert d[uid].dtype == dtype
        np.testing.assert_array_equal(d[uid], np.array(values, dtype=dtype))


@pytest.mark.parametrize(
    "loader_type, line, token",
    [
        ("csv_int", "u2 1,2.5", "2.5"),
        ("csv_int", "u2 1,,2", ""),
        ("text_int", "u2 1 x", "x"),
        ("csv_float", "u2 1,abc", "abc"),
        ("text_float", "u2 1,2", "1,2"),
    ],
)
def test_load_num_sequence_text_bad_token(tmp_path, loader_type, line, token):
    p = write(tmp_path / "seq", f"u1 1\n{line}\n")
    with pytest.raises(DataFormatError) as e:
        load_num_sequence_text(p, loader_type)
    msg = str(e.value)
    assert msg.startswith(f"{p}:2: uid 'u2'")
    assert f"token {token!r}" in msg


def test_load_num_sequence_text_unknown_loader(tmp_path):
    p = write(tmp_path / "seq", "u1 1\n")
    with pytest.raises(ValueError, match="valid: text_int, text_float, csv_int, csv_float"):
        load_num_sequence_text(p, "npy")


def test_write_2columns_text_round_trip(tmp_path):
    p = tmp_path / "sub" / "dir" / "text"
    data = {"b": "hello world", "a": "x", "c": "日本語 です"}
    write_2columns_text(p, data)
    assert p.read_text(encoding="utf-8") == "b hello world\na x\nc 日本語 です\n"
    assert read_2columns_text(p) == data
    assert list(read_2columns_text(p)) == ["b", "a", "c"]
    # overwrite in place, no temp files left behind
    write_2columns_text(p, {"z": "1"})
    assert read_2columns_text(p) == {"z": "1"}
    assert os.listdir(p.parent) == ["text"]


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"a b": "x"}, "invalid uid 'a b'"),
        ({"": "x"}, "invalid uid ''"),
        ({"a": "x\ny"}, "value for uid 'a' contains a newline"),
        ({"a": "  "}, "value for uid 'a' is empty"),
    ],
)
def test_write_2columns_text_rejects(tmp_path, mapping, message):
    p = tmp_path / "text"
    write_2columns_text(p, {"old": "content"})
    with pytest.raises(ValueError, match=re.escape(message)):
        write_2columns_text(p, mapping)
    # the old file is untouched and no temp file remains
    assert read_2columns_text(p) == {"old": "content"}
    assert os.listdir(tmp_path) == ["text"]


def test_write_2columns_text_failure_during_write_leaves_old_file(tmp_path, monkeypatch):
    p = tmp_path / "text"
    write_2columns_text(p, {"old": "content"})

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_2columns_text(p, {"new": "content"})
    monkeypatch.undo()
    assert read_2columns_text(p) == {"old": "content"}
    assert os.listdir(tmp_path) == ["text"]


def test_read_label_triples(tmp_path):
    p = write(tmp_path / "label", "a 0.5 1.2 x 1.2 1.5 y\nb 0 1 sil\n")
    assert read_label(p) == {"a": [["0.5", "1.2", "x"], ["1.2", "1.5", "y"]], "b": [["0", "1", "sil"]]}
    write(p, "a 0.5 1.2 x 1.2\n")
    with pytest.raises(DataFormatError, match=r"label:1: uid 'a' has 4 fields; expected <start> <end> <label> triples"):
        read_label(p)
