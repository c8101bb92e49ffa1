import pytest

from espkit.text.build_tokenizer import build_tokenizer
from espkit.text.char_tokenizer import CharTokenizer
from espkit.text.non_linguistic_symbols import (
    load_non_linguistic_symbols,
    split_non_linguistic_symbols,
)
from espkit.text.word_tokenizer import WordTokenizer


def test_char_tokenizer_round_trip_with_spaces():
    tokenizer = CharTokenizer()
    tokens = tokenizer.text2tokens("ab c  d")
    assert tokens == ["a", "b", "<space>", "c", "<space>", "<space>", "d"]
    assert tokenizer.tokens2text(tokens) == "ab c  d"


def test_char_tokenizer_custom_space_symbol():
    tokenizer = CharTokenizer(space_symbol="_")
    assert tokenizer.text2tokens("a b") == ["a", "_", "b"]
    assert tokenizer.tokens2text(["a", "_", "b"]) == "a b"


def test_char_tokenizer_non_linguistic_symbols_from_file(tmp_path):
    path = tmp_path / "nlsyms.txt"
    path.write_text("<noise>\n<noise2>\n\n[laughter]\n", encoding="utf-8")
    tokenizer = CharTokenizer(non_linguistic_symbols=path)
    tokens = tokenizer.text2tokens("hi <noise2> [laughter]x<noise>")
    assert tokens == ["h", "i", "<space>", "<noise2>", "<space>", "[laughter]", "x", "<noise>"]
    assert tokenizer.tokens2text(tokens) == "hi <noise2> [laughter]x<noise>"


def test_char_tokenizer_remove_non_linguistic_symbols():
    tokenizer = CharTokenizer(non_linguistic_symbols=["<noise>"], remove_non_linguistic_symbols=True)
    assert tokenizer.text2tokens("a<noise>b") == ["a", "b"]


def test_text2tokens_batch_default_loops():
    tokenizer = CharTokenizer()
    assert tokenizer.text2tokens_batch(["ab", "", "c d"]) == [
        ["a", "b"],
        [],
        ["c", "<space>", "d"],
    ]


def test_load_non_linguistic_symbols():
    assert load_non_linguistic_symbols(None) == []
    assert load_non_linguistic_symbols(["<a>", "<abc>", "<a>", " "]) == ["<abc>", "<a>"]
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_non_linguistic_symbols("nope.txt")


def test_split_non_linguistic_symbols():
    assert split_non_linguistic_symbols("<n>a <n>", ["<n>"]) == [
        ("<n>", True),
        ("a ", False),
        ("<n>", True),
    ]
    assert split_non_linguistic_symbols("plain", []) == [("plain", False)]


def test_word_tokenizer():
    tokenizer = WordTokenizer()
    assert tokenizer.text2tokens(" hello  big world ") == ["hello", "big", "world"]
    assert tokenizer.tokens2text(["a", "b"]) == "a b"
    comma = WordTokenizer(delimiter=",")
    assert comma.text2tokens("a,b,,c") == ["a", "b", "c"]
    assert comma.tokens2text(["a", "b"]) == "a,b"
    removing = WordTokenizer(non_linguistic_symbols=["<n>"], remove_non_linguistic_symbols=True)
    assert removing.text2tokens("a <n> b") == ["a", "b"]


def test_build_tokenizer_types():
    assert isinstance(build_tokenizer("char"), CharTokenizer)
    word = build_tokenizer("word", delimiter="|")
    assert isinstance(word, WordTokenizer) and word.delimiter == "|"
    char = build_tokenizer("char", space_symbol="_", non_linguistic_symbols=["<n>"])
    assert char.text2tokens("a <n>") == ["a", "_", "<n>"]


def test_build_tokenizer_errors():
    with pytest.raises(ValueError, match="unknown token_type 'bpe'.*char, phn, word"):
        build_tokenizer("bpe")
    with pytest.raises(ValueError, match="'phn' needs a g2p type"):
        build_tokenizer("phn")
