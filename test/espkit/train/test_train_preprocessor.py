import logging

import numpy as np
import pytest

from espkit.fileio.read_text import DataFormatError
from espkit.train.preprocessor import TTSPreprocessor

TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "c", "<sos/eos>"]


def test_text_and_emotion_become_ids():
    pre = TTSPreprocessor(token_type="char", token_list=TOKENS, cleaner="english", emo_list="neutral,happy")
    out = pre("u1", {"text": "AB  c!", "emo_labs": "Happy", "speech": np.zeros(3)})
    # english cleaner lowercases and collapses spaces; "!" is not in the list -> <unk>
    assert out["text"].tolist() == [3, 4, 2, 5, 1]
    assert out["emo_labs"].dtype == np.int64 and int(out["emo_labs"]) == 1
    assert out["speech"].shape == (3,)


def test_errors_name_the_uid_and_the_missing_option():
    with pytest.raises(ValueError, match="token_list is required"):
        TTSPreprocessor(token_type="char")
    pre = TTSPreprocessor()
    with pytest.raises(ValueError, match="uid 'u9'.*no token_type"):
        pre("u9", {"text": "abc"})
    with pytest.raises(ValueError, match="no --emo_list"):
        pre("u9", {"emo_labs": "sad"})
    pre = TTSPreprocessor(emo_list=["neutral", "happy"])
    with pytest.raises(ValueError, match="neutral, happy"):
        pre("u9", {"emo_labs": "angry"})


def test_unknown_emotion_names_the_uid_and_the_known_labels():
    pre = TTSPreprocessor(emo_list=["neutral", "happy"])
    with pytest.raises(DataFormatError, match=r"uid 'happy_0001' \(emo_labs\): unknown emotion 'hapy'.*neutral, happy"):
        pre("happy_0001", {"emo_labs": "hapy"})


def test_tokens_outside_the_list_are_warned_about_once(caplog):
    pre = TTSPreprocessor(token_type="char", token_list=TOKENS)
    with caplog.at_level(logging.WARNING):
        first = pre("u1", {"text": "axq"})
        second = pre("u2", {"text": "qx"})
    assert first["text"].tolist() == [3, 1, 1] and second["text"].tolist() == [1, 1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("uid 'u1': 'q', 'x' not in the token list") and "<unk>" in warnings[0]


def test_speech_must_be_mono():
    pre = TTSPreprocessor()
    assert pre("u1", {"speech": np.zeros((5, 1))})["speech"].shape == (5,)
    with pytest.raises(DataFormatError, match=r"uid 'u2' \(speech\): audio has 2 channels but TTS needs mono"):
        pre("u2", {"speech": np.zeros((5, 2))})
    features = np.zeros((5, 80), dtype=np.float32)  # --feats_extract none: speech holds (T_feats, odim)
    assert TTSPreprocessor(speech_name=None)("u3", {"speech": features})["speech"].shape == (5, 80)


def test_vocoder_preprocessor_checks_mono_speech_and_the_frame_count_of_feats():
    from espkit.layers.stft import Stft
    from espkit.train.preprocessor import VocoderPreprocessor

    preprocess = VocoderPreprocessor(frame_grid=Stft(n_fft=256, hop_length=64))
    speech = np.zeros((1000, 1), dtype=np.float32)
    out = preprocess("u1", {"speech": speech, "feats": np.zeros((1000 // 64 + 1, 8), dtype=np.float32)})
    assert out["speech"].shape == (1000,) and out["feats"].shape == (16, 8)
    with pytest.raises(DataFormatError, match=r"uid 'u2' \(feats\): \(15, 8\) but speech's 1000 samples give 16"):
        preprocess("u2", {"speech": speech[:, 0], "feats": np.zeros((15, 8), dtype=np.float32)})
    assert preprocess("u3", {"speech": speech[:, 0]})["speech"].shape == (1000,)
