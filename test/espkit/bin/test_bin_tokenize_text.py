import io
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from espkit.bin.tokenize_text import (
    build_vocabulary,
    field_to_slice,
    get_parser,
    main,
    parse_add_symbol,
)
from espkit.text import espeak_ng_g2p

needs_espeak_ng = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="the Debian package espeak-ng is not installed"
)

KALDI_TEXT = "utt1 Hello  world\nutt2 Hi there\nutt3\n"


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text"
    path.write_text(KALDI_TEXT, encoding="utf-8")
    return path


def test_field_to_slice():
    assert field_to_slice("2-") == slice(1, None)
    assert field_to_slice("2-3") == slice(1, 3)
    assert field_to_slice("1") == slice(0, 1)
    for bad in ("0", "3-2", "a", "2-x", "-2", ""):
        with pytest.raises(ValueError, match="expected N, N-M or N-"):
            field_to_slice(bad)


def test_parse_add_symbol():
    assert parse_add_symbol("<blank>:0") == ("<blank>", 0)
    assert parse_add_symbol("<sos/eos>:-1") == ("<sos/eos>", -1)
    assert parse_add_symbol("a:b:2") == ("a:b", 2)
    for bad in ("<unk>", ":1", "<unk>:x"):
        with pytest.raises(ValueError, match="expected SYMBOL:INDEX"):
            parse_add_symbol(bad)


def test_build_vocabulary_order_cutoff_size_and_symbols():
    counts = Counter({"b": 3, "a": 3, "c": 1, "d": 2})
    assert build_vocabulary(counts) == ["a", "b", "d", "c"]
    assert build_vocabulary(counts, cutoff=1) == ["a", "b", "d"]
    symbols = [("<blank>", 0), ("<unk>", 1), ("<sos/eos>", -1)]
    assert build_vocabulary(counts, add_symbols=symbols) == [
        "<blank>", "<unk>", "a", "b", "d", "c", "<sos/eos>",
    ]  # fmt: skip
    assert build_vocabulary(counts, vocabulary_size=5, add_symbols=symbols) == [
        "<blank>", "<unk>", "a", "b", "<sos/eos>",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="--vocabulary_size 9 is too large: only 4 tokens"):
        build_vocabulary(counts, vocabulary_size=9, add_symbols=symbols)
    with pytest.raises(ValueError, match="smaller than the 3 symbols"):
        build_vocabulary(counts, vocabulary_size=2, add_symbols=symbols)
    with pytest.raises(ValueError, match="'a': the symbol is already in the vocabulary"):
        build_vocabulary(counts, add_symbols=[("a", 0)])


def test_write_char_vocabulary_exact_file(text_file, tmp_path):
    output = tmp_path / "token_list" / "tokens.txt"
    main(
        [
            "--input", str(text_file), "--output", str(output),
            "--field", "2-", "--token_type", "char", "--write_vocabulary", "true",
            "--add_symbol", "<blank>:0", "--add_symbol", "<unk>:1", "--add_symbol", "<sos/eos>:-1",
        ]
    )  # fmt: skip
    # counts: e 3, l 3, then 2 each: <space> H o r, then 1 each: d h i t w
    expected = ["<blank>", "<unk>", "e", "l", "<space>", "H", "o", "r", "d", "h", "i", "t", "w"]
    assert output.read_text(encoding="utf-8") == "\n".join(expected + ["<sos/eos>"]) + "\n"


def test_tokenize_char_lines_with_cleaner_to_stdout(text_file, capsys):
    main(["-i", str(text_file), "-o", "-", "-f", "2-", "--cleaner", "english"])
    assert capsys.readouterr().out == (
        "h e l l o <space> w o r l d\nh i <space> t h e r e\n\n"
    )


def test_tokenize_word_from_stdin_with_vocabulary_size(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a b b\nc b a\n"))
    main(["-i", "-", "-o", "-", "-t", "word", "--write_vocabulary", "true",
          "--vocabulary_size", "3", "--add_symbol", "<unk>:0"])  # fmt: skip
    assert capsys.readouterr().out == "<unk>\nb\na\n"


def test_usage_errors(text_file, capsys):
    with pytest.raises(SystemExit):
        main(["-i", str(text_file), "-o", "-", "--field", "0"])
    assert "--field '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["-i", str(text_file), "-o", "-", "--add_symbol", "<unk>"])
    assert "expected SYMBOL:INDEX" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs a g2p type"):
        main(["-i", str(text_file), "-o", "-", "--token_type", "phn"])


def test_parser_defaults():
    args = get_parser().parse_args(["-i", "a", "-o", "b"])
    assert args.token_type == "char" and args.space_symbol == "<space>"
    assert args.write_vocabulary is False and args.add_symbol == [] and args.cleaner is None


@needs_espeak_ng
def test_phn_uses_one_espeak_ng_call(text_file, tmp_path, monkeypatch):
    calls = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        calls.append(args[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(espeak_ng_g2p.subprocess, "run", counting_run)
    output = tmp_path / "phones"
    main(["-i", str(text_file), "-o", str(output), "-f", "2-", "--token_type", "phn",
          "--g2p", "espeak_ng_english"])  # fmt: skip
    lines = output.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 4 and lines[2] == "" and lines[3] == ""
    hello, hi = lines[0].split(" "), lines[1].split(" ")
    assert hello.count("<space>") == 1 and hello[0] == "h" and hello[-1] == "d"
    assert hi.count("<space>") == 1 and hi[0] == "h"
    assert len(calls) == 1

    vocab = tmp_path / "phn_tokens.txt"
    main(["-i", str(text_file), "-o", str(vocab), "-f", "2-", "--token_type", "phn",
          "--g2p", "espeak_ng_english", "--write_vocabulary", "true",
          "--add_symbol", "<blank>:0", "--add_symbol", "<unk>:1",
          "--add_symbol", "<sos/eos>:-1"])  # fmt: skip
    tokens = vocab.read_text(encoding="utf-8").splitlines()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert set(tokens[2:-1]) == set(hello + hi)
    assert tokens[2:5] == ["<space>", "h", "l"]  # each seen twice, ties sorted by token
