from pathlib import Path

import numpy as np
import pytest

from espkit.tts.emotion.emo_list import EmotionLabelConverter, load_emo_list

LABELS = ["neutral", "happy", "sad", "angry"]


def test_load_from_file_string_and_list(tmp_path: Path):
    path = tmp_path / "emo_list.txt"
    path.write_text("neutral\n happy \nsad\nangry\n\n", encoding="utf-8")
    assert load_emo_list(path) == LABELS
    assert load_emo_list(str(path)) == LABELS
    assert load_emo_list("neutral, happy,sad ,angry") == LABELS
    assert load_emo_list(LABELS) == LABELS
    assert load_emo_list(("neutral", "Happy")) == ["neutral", "Happy"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("neutral,,sad", "empty emotion label"),
        ("neutral,sad,", "empty emotion label"),
        ("neutral,happy,Neutral", "duplicate emotion label 'Neutral'"),
        (["neutral", ""], "empty emotion label"),
        (["neutral", "sad", "sad"], "duplicate emotion label 'sad'"),
        (["very sad"], "must not contain whitespace"),
        ([], "the emotion list is empty"),
        ("", "empty emotion label"),
    ],
)
def test_load_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        load_emo_list(spec)


def test_file_errors_name_file_and_line(tmp_path: Path):
    path = tmp_path / "emo_list.txt"
    path.write_text("neutral\n\nsad\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:2: empty emotion label"):
        load_emo_list(path)
    path.write_text("neutral\nsad\nSAD\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"duplicate emotion label 'SAD'"):
        load_emo_list(path)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="the emotion list is empty"):
        load_emo_list(path)
    with pytest.raises(FileNotFoundError, match="missing.txt does not exist"):
        load_emo_list(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match="comma-separated"):
        load_emo_list(str(tmp_path / "missing.txt"))


def test_converter_name_and_id():
    converter = EmotionLabelConverter(LABELS)
    assert len(converter) == 4
    assert converter.name2id("sad") == 2
    assert converter.name2id("ANGRY") == 3
    assert converter.id2name(1) == "happy"
    assert converter.id2name(np.int64(0)) == "neutral"
    known = "known emotions: neutral, happy, sad, angry"
    with pytest.raises(ValueError, match=f"unknown emotion 'bored'; {known}"):
        converter.name2id("bored")
    with pytest.raises(ValueError, match=r"out of range \[0, 4\)"):
        converter.id2name(4)
    with pytest.raises(ValueError, match=r"out of range"):
        converter.id2name(-1)
    with pytest.raises(ValueError, match="must be an integer"):
        converter.id2name(True)


def test_converter_accepts_a_spec(tmp_path: Path):
    path = tmp_path / "emo.txt"
    path.write_text("calm\nexcited\n", encoding="utf-8")
    assert EmotionLabelConverter(path).emo_list == ["calm", "excited"]
    assert EmotionLabelConverter("calm,excited").name2id("excited") == 1


def test_mix_to_weights():
    converter = EmotionLabelConverter(LABELS)
    np.testing.assert_array_equal(converter.mix_to_weights("Sad"), [0, 0, 1, 0])
    np.testing.assert_array_equal(converter.mix_to_weights(1), [0, 1, 0, 0])
    np.testing.assert_array_equal(converter.mix_to_weights(np.int32(3)), [0, 0, 0, 1])
    mixed = converter.mix_to_weights({"happy": 3, "SAD": 1.0})
    np.testing.assert_allclose(mixed, [0, 0.75, 0.25, 0])
    np.testing.assert_allclose(converter.mix_to_weights({"neutral": 0.0, "angry": 2}), [0, 0, 0, 1])
    np.testing.assert_allclose(converter.mix_to_weights("happy:0.7, sad:0.7"), [0, 0.5, 0.5, 0])
    weights = converter.mix_to_weights({"happy": 0.2, "sad": 0.3, "angry": 0.5})
    assert weights.dtype == np.float64 and weights.shape == (4,)
    assert weights.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "mix, message",
    [
        ({"happy": -0.5, "sad": 1.0}, "must be finite and >= 0"),
        ({"happy": float("nan")}, "must be finite and >= 0"),
        ({"happy": 0.0, "sad": 0}, "positive sum"),
        ({}, "empty emotion mixture"),
        ({"happy": 1.0, "HAPPY": 1.0}, "given twice"),
        ({"bored": 1.0}, "unknown emotion 'bored'"),
        ({"happy": "a lot"}, "must be a number"),
        ("happy:0.5,sad", "name:weight pairs"),
        ("happy:x", "name:weight pairs"),
        ("happy:1,Happy:2", "given twice"),
        ("joyful", "unknown emotion 'joyful'; known emotions"),
        (7, "out of range"),
        (True, "must be a name, an id or"),
    ],
)
def test_mix_to_weights_errors(mix, message):
    converter = EmotionLabelConverter(LABELS)
    with pytest.raises(ValueError, match=message):
        converter.mix_to_weights(mix)
