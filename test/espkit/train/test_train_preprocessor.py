import numpy as np
import pytest

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
