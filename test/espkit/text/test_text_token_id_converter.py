import numpy as np
import pytest

from espkit.text.token_id_converter import TokenIDConverter

TOKENS = ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]


def test_round_trip_from_list():
    converter = TokenIDConverter(TOKENS)
    ids = converter.tokens2ids(["a", "<space>", "b", "zzz"])
    assert ids == [2, 4, 3, 1]
    assert converter.ids2tokens(ids) == ["a", "<space>", "b", "<unk>"]
    assert converter.ids2tokens(np.array([5, 0])) == ["<sos/eos>", "<blank>"]
    assert converter.get_num_vocabulary_size() == 6
    assert converter.token_list == TOKENS
    assert converter.unk_id == 1


def test_from_file_keeps_whitespace_token_and_strips_trailing(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_text("<blank>\n<unk>\na  \n \nb\r\n", encoding="utf-8")
    converter = TokenIDConverter(path)
    assert converter.token_list == ["<blank>", "<unk>", "a", " ", "b"]
    assert converter.tokens2ids(["b", " "]) == [4, 3]
    assert TokenIDConverter(str(path)).token_list == converter.token_list


def test_duplicate_token_names_it(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_text("<blank>\n<unk>\na\nb\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tokens.txt:5: duplicate token 'a'.*tokens.txt:3"):
        TokenIDConverter(path)
    with pytest.raises(ValueError, match=r"token_list\[2\]: duplicate token 'x'"):
        TokenIDConverter(["<unk>", "x", "x"])


def test_missing_unk_and_empty_token(tmp_path):
    with pytest.raises(ValueError, match="unk symbol '<unk>' is not in the token list"):
        TokenIDConverter(["<blank>", "a"])
    assert TokenIDConverter(["<blank>", "<oov>"], unk_symbol="<oov>").unk_id == 1
    path = tmp_path / "tokens.txt"
    path.write_text("<unk>\n\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tokens.txt:2: empty token"):
        TokenIDConverter(path)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        TokenIDConverter(tmp_path / "missing.txt")


def test_ids2tokens_errors():
    converter = TokenIDConverter(TOKENS)
    with pytest.raises(ValueError, match="token id 6 is out of range for a vocabulary of 6"):
        converter.ids2tokens([0, 6])
    with pytest.raises(ValueError, match="token id -1"):
        converter.ids2tokens([-1])
    with pytest.raises(ValueError, match="one-dimensional"):
        converter.ids2tokens(np.zeros((2, 2), dtype=int))


def test_token_list_errors_are_also_runtime_errors_as_in_espnet2():
    from espkit.fileio.read_text import DataFormatError

    for tokens, match in [(["a", "a", "<unk>"], "duplicate token 'a'"), (["a", "b"], "unk symbol '<unk>' is not")]:
        with pytest.raises(RuntimeError, match=match) as info:
            TokenIDConverter(tokens)
        assert isinstance(info.value, DataFormatError)
