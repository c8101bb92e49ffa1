import pytest

from espkit.fileio.datadir_writer import DatadirWriter
from espkit.fileio.read_text import read_2columns_text


def test_datadir_writer_writes_nested_files(tmp_path):
    out = tmp_path / "decode"
    with DatadirWriter(out) as writer:
        writer["text"]["utt1"] = "hello world"
        writer["text"]["utt2"] = "bye"
        writer["sub"]["wav.scp"]["u"] = "a.wav"
        writer["sub"]["deeper"]["durations"]["u"] = "1 2 3"
        writer["empty_dir"]  # a node never written to creates nothing
    assert (out / "text").read_text() == "utt1 hello world\nutt2 bye\n"
    assert (out / "sub" / "wav.scp").read_text() == "u a.wav\n"
    assert read_2columns_text(out / "sub" / "deeper" / "durations") == {"u": "1 2 3"}
    assert sorted(p.name for p in out.iterdir()) == ["sub", "text"]


def test_datadir_writer_close_closes_all_files(tmp_path):
    writer = DatadirWriter(tmp_path)
    writer["a"]["u"] = "1"
    writer["b"]["c"]["u"] = "2"
    files = [writer.children["a"]._fd, writer.children["b"].children["c"]._fd]
    assert not any(f.closed for f in files)
    writer.close()
    assert all(f.closed for f in files)
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="writer is closed"):
        writer["a"]["v"] = "3"
    with pytest.raises(ValueError, match="writer is closed"):
        writer["new"]


def test_datadir_writer_errors(tmp_path):
    with DatadirWriter(tmp_path) as writer:
        writer["text"]["u1"] = "x"
        with pytest.raises(ValueError, match=f"{tmp_path / 'text'}: duplicate uid 'u1'"):
            writer["text"]["u1"] = "y"
        with pytest.raises(RuntimeError, match="is a file"):
            writer["text"]["sub"]
        with pytest.raises(RuntimeError, match="is a directory"):
            writer["u"] = "x"
        with pytest.raises(ValueError, match="invalid entry name '../x'"):
            writer["../x"]
        with pytest.raises(ValueError, match="invalid uid 'a b'"):
            writer["text"]["a b"] = "x"
        with pytest.raises(ValueError, match="contains a newline"):
            writer["text"]["u2"] = "x\ny"
        with pytest.raises(ValueError, match="value for uid 'u3' is empty"):
            writer["text"]["u3"] = " "
        with pytest.raises(TypeError, match="must be str, got int"):
            writer["text"]["u4"] = 5
    assert (tmp_path / "text").read_text() == "u1 x\n"


def test_write_speech_data_dir_sorts_and_builds_spk2utt(tmp_path):
    from espkit.fileio.datadir_writer import write_speech_data_dir

    write_speech_data_dir(
        tmp_path / "d",
        wav_scp={"b_2": "/x/b2.wav", "a_1": "/x/a1.wav", "b_1": "sox b1.flac -t wav - |"},
        text={"a_1": "hello there", "b_1": "one", "b_2": "two"},
        utt2spk={"a_1": "a", "b_1": "b", "b_2": "b"},
    )
    assert (tmp_path / "d" / "wav.scp").read_text() == "a_1 /x/a1.wav\nb_1 sox b1.flac -t wav - |\nb_2 /x/b2.wav\n"
    assert (tmp_path / "d" / "text").read_text() == "a_1 hello there\nb_1 one\nb_2 two\n"
    assert (tmp_path / "d" / "utt2spk").read_text() == "a_1 a\nb_1 b\nb_2 b\n"
    assert (tmp_path / "d" / "spk2utt").read_text() == "a a_1\nb b_1 b_2\n"
    with pytest.raises(ValueError, match=r"wav.scp and text hold different uids \(e.g. \['c'\]\)"):
        write_speech_data_dir(tmp_path / "e", {"a": "x.wav"}, {"a": "t", "c": "u"}, {"a": "s"})
    assert not (tmp_path / "e").exists()


def test_write_speech_data_sets_writes_one_directory_per_set(tmp_path):
    from espkit.fileio.datadir_writer import write_speech_data_sets

    utterances = {"a_1": ("/x/a1.wav", "hi", "a"), "a_2": ("/x/a2.wav", "yo", "a"), "b_1": ("/x/b1.wav", "so", "b")}
    write_speech_data_sets(tmp_path, {"train": ["b_1", "a_1"], "dev": ["a_2"]}, utterances)
    assert (tmp_path / "train" / "wav.scp").read_text() == "a_1 /x/a1.wav\nb_1 /x/b1.wav\n"
    assert (tmp_path / "train" / "spk2utt").read_text() == "a a_1\nb b_1\n"
    assert (tmp_path / "dev" / "text").read_text() == "a_2 yo\n"
    assert (tmp_path / "dev" / "utt2spk").read_text() == "a_2 a\n"
    with pytest.raises(ValueError, match="e/eval: uid c_1 is not among the utterances"):
        write_speech_data_sets(tmp_path / "e", {"train": ["a_1"], "eval": ["c_1"]}, utterances)
    assert not (tmp_path / "e").exists()
