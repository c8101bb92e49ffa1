from pathlib import Path

import pytest

from espkit.tts.speaker.spk_list import SpeakerConverter, load_spk_list


def test_load_from_file_string_and_list(tmp_path: Path):
    path = tmp_path / "spk_list"
    path.write_text("p225\np226\n\n", encoding="utf-8")
    assert load_spk_list(path) == ["p225", "p226"]
    assert load_spk_list(str(path)) == ["p225", "p226"]
    assert load_spk_list("p225, p226") == ["p225", "p226"]
    assert load_spk_list(["103", "1034"]) == ["103", "1034"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("p225,,p226", "empty speaker label"),
        ("p225,P225", "duplicate speaker label 'P225'"),
        (["jane doe"], "speaker label 'jane doe' must not contain whitespace"),
        ([], "the speaker list is empty"),
    ],
)
def test_load_errors_name_speakers(spec, message):
    with pytest.raises(ValueError, match=message):
        load_spk_list(spec)


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"speaker list file .*spk_list\.txt does not exist.*'p225,p226'"):
        load_spk_list(str(tmp_path / "spk_list.txt"))


def test_names_and_ids():
    speakers = SpeakerConverter("p225,p226,p227")
    assert speakers.spk_list == ["p225", "p226", "p227"] and len(speakers) == 3
    assert speakers.to_id("P226") == 1 and speakers.to_id(2) == 2 and speakers.to_id(" 0 ") == 0
    assert speakers.id2name(2) == "p227"
    with pytest.raises(ValueError, match="unknown speaker 'p300'; known speakers: p225, p226, p227"):
        speakers.to_id("p300")
    with pytest.raises(ValueError, match=r"speaker id 3 out of range \[0, 3\); known speakers"):
        speakers.to_id(3)
    with pytest.raises(ValueError, match="speaker id must be an integer"):
        speakers.id2name(True)


def test_a_numeric_name_wins_over_the_id_of_the_same_spelling():
    speakers = SpeakerConverter(["103", "0", "7"])  # LibriTTS-like speaker names
    assert speakers.to_id("0") == 1 and speakers.to_id("7") == 2 and speakers.to_id(0) == 0
    assert speakers.to_id("2") == 2  # no speaker is named "2": an id
