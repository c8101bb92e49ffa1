from pathlib import Path

import pytest

from espkit.samplers.shape_file import load_shape_file, load_shape_files, write_shape_file


def test_load_shape_file_keeps_order_and_parses_dims(tmp_path: Path):
    path = tmp_path / "shape"
    path.write_text("utt2 245,80\nutt1 16000\n\nutt3 3,4,5\n")
    shapes = load_shape_file(path)
    assert list(shapes) == ["utt2", "utt1", "utt3"]
    assert shapes == {"utt2": (245, 80), "utt1": (16000,), "utt3": (3, 4, 5)}


@pytest.mark.parametrize("bad_line", ["utt2 abc", "utt2", "utt2 12 80", "utt2 12,", "utt2 -3", "utt2 1.5"])
def test_load_shape_file_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str):
    path = tmp_path / "speech_shape"
    path.write_text(f"utt1 10\n{bad_line}\n")
    with pytest.raises(ValueError, match=r"speech_shape:2:"):
        load_shape_file(path)


def test_load_shape_file_duplicate_uid(tmp_path: Path):
    path = tmp_path / "shape"
    path.write_text("utt1 10\nutt2 11\nutt1 12\n")
    with pytest.raises(ValueError, match=r"shape:3: duplicate uid 'utt1'"):
        load_shape_file(path)


def test_write_shape_file_round_trip_and_atomic(tmp_path: Path):
    path = tmp_path / "sub" / "feats_shape"
    shapes = {"b": (12, 80), "a": [7]}
    write_shape_file(path, shapes)
    assert path.read_text() == "b 12,80\na 7\n"
    assert load_shape_file(path) == {"b": (12, 80), "a": (7,)}
    # no temporary files are left behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["feats_shape"]


def test_write_shape_file_rejects_uid_with_space(tmp_path: Path):
    with pytest.raises(ValueError, match="without whitespace"):
        write_shape_file(tmp_path / "shape", {"a b": (3,)})
    assert not (tmp_path / "shape").exists()


def test_load_shape_files_reports_missing_uids(tmp_path: Path):
    first = tmp_path / "text_shape"
    second = tmp_path / "speech_shape"
    write_shape_file(first, {f"utt{i}": (i + 1,) for i in range(10)})
    write_shape_file(second, {"utt0": (5,), "utt1": (5,), "extra": (5,)})
    with pytest.raises(ValueError, match=r"speech_shape: 8 uid\(s\).*utt2, utt3.*and 3 more"):
        load_shape_files([first, second])


def test_load_shape_files_empty_first_file(tmp_path: Path):
    path = tmp_path / "empty_shape"
    path.write_text("")
    with pytest.raises(ValueError, match="holds no utterances"):
        load_shape_files([path])
