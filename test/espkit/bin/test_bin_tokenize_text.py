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
    select_field,
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
    with pytest.raises(ValueError, match="--add_symbol '<unk>' is given 2 times"):
        build_vocabulary(counts, add_symbols=[("<unk>", 0), ("<unk>", -1)])
    with pytest.raises(ValueError, match=r"no token reaches --cutoff 3: .* \('a'\) occurs 3 times"):
        build_vocabulary(counts, cutoff=3)
    with pytest.raises(ValueError, match="the text has no token"):
        build_vocabulary(Counter())


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
    assert capsys.readouterr().out == ("h e l l o <space> w o r l d\nh i <space> t h e r e\n\n")


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
    with pytest.raises(SystemExit) as exit_info:
        main(["-i", str(text_file), "-o", "-", "--token_type", "phn"])
    assert exit_info.value.code == 2 and "error: token_type 'phn' needs a g2p type" in capsys.readouterr().err


def run_error(args, capsys) -> str:
    """Run main(args), expect exit code 2 and return its one stderr line."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and ": error: " in lines[0], lines
    return lines[0].split(": error: ", 1)[1]


def test_input_errors_name_the_file_and_line(tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"utt1 fine\nutt2 caf\xff\n")
    output = tmp_path / "out.txt"
    error = run_error(["-i", str(bad), "-o", str(output), "-f", "2-"], capsys)
    assert f"{bad}:2: not valid UTF-8 (byte 0xff at byte 9 of the line" in error
    assert not output.exists()  # nothing half-written
    error = run_error(["-i", str(tmp_path / "nope.txt"), "-o", "-"], capsys)
    assert error.endswith(f"--input {tmp_path / 'nope.txt'}: no such file")


def test_stdin_not_utf8_is_one_error_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "espkit.bin.tokenize_text", "-i", "-", "-o", "-"],
        input=b"ok\n\xff\n",
        capture_output=True,
    )
    stderr = out.stderr.decode()
    assert out.returncode == 2 and "Traceback" not in stderr
    assert "error: <stdin>:2: not valid UTF-8" in stderr


def test_field_beyond_the_columns(tmp_path, capsys):
    text = tmp_path / "text"
    text.write_text("utt1 a b\nutt2 c\n", encoding="utf-8")
    output = tmp_path / "tokens"
    error = run_error(["-i", str(text), "-o", str(output), "-f", "5"], capsys)
    assert f"{text}:1: --field 5 starts at column 5 but the line has 3 column(s)" in error
    error = run_error(["-i", str(text), "-o", str(output), "-f", "4-"], capsys)  # line 1 may end before 4
    assert f"{text}:2: --field 4- starts at column 4 but the line has 2 column(s)" in error
    two_columns = tmp_path / "two"
    two_columns.write_text("utt1 a\nutt2 b\n", encoding="utf-8")
    error = run_error(["-i", str(two_columns), "-o", str(output), "-f", "3"], capsys)
    assert f"{two_columns}: --field 3 starts at column 3 but no line has more than 2 column(s)" in error
    assert not output.exists()
    main(["-i", str(text), "-o", str(output), "-f", "3"])  # a line ending before the field: empty
    assert output.read_text(encoding="utf-8") == "b\n\n"


def test_select_field():
    assert select_field("utt1 a  b", "2-", None, "text", 1) == "a b"
    assert select_field("utt1,a,b", "3", ",", "text", 1) == "b"
    assert select_field("utt1", "2-", None, "text", 1) == ""  # empty transcript
    assert select_field("   ", "5", None, "text", 1) == ""  # blank line
    with pytest.raises(ValueError, match=r"^text:7: --field 4 starts at column 4 but the line has 2 column"):
        select_field("utt1 a", "4", None, "text", 7)


def test_vocabulary_errors_are_one_line_and_keep_the_old_file(text_file, tmp_path, capsys):
    output = tmp_path / "tokens.txt"
    output.write_text("old\n", encoding="utf-8")
    common = ["-i", str(text_file), "-o", str(output), "-f", "2-", "--write_vocabulary", "true"]
    error = run_error([*common, "--cutoff", "1000"], capsys)
    assert "no token reaches --cutoff 1000" in error and "occurs 3 times; lower --cutoff" in error
    error = run_error([*common, "--add_symbol", "<blank>:99"], capsys)
    assert "--add_symbol <blank>:99: index out of range; with 11 tokens it must be in -12..11" in error
    error = run_error([*common, "--add_symbol", "<unk>:0", "--add_symbol", "<unk>:1"], capsys)
    assert "--add_symbol '<unk>' is given 2 times" in error
    error = run_error(["-i", str(text_file), "-o", str(output), "-t", "phn", "--g2p", "foo"], capsys)
    assert "unknown g2p type 'foo'" in error
    assert output.read_text(encoding="utf-8") == "old\n"
    error = run_error(["-i", str(text_file), "-o", str(tmp_path), "-f", "2-"], capsys)
    assert error.endswith(f"--output {tmp_path}: is a directory; give a file name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text", "tokens.txt"]  # no temporary file left
    empty = tmp_path / "empty"
    empty.write_text("\n  \n", encoding="utf-8")
    error = run_error(["-i", str(empty), "-o", str(output), "--write_vocabulary", "true", "-f", "2-"], capsys)
    assert f"{empty}: the text has no token" in error


def test_add_symbol_error_without_traceback(text_file):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "espkit.bin.tokenize_text",
            "-i",
            str(text_file),
            "-o",
            "-",
            "--write_vocabulary",
            "true",
            "--add_symbol",
            "<blank>:99",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("tokenize_text.py: error: --add_symbol <blank>:99")


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
