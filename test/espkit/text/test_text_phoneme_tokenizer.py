import json
import shutil
import subprocess

import pytest

from espkit.text import espeak_ng_g2p
from espkit.text.build_tokenizer import build_tokenizer
from espkit.text.espeak_ng_g2p import (
    SENTINEL_TEXT,
    EspeakNgG2p,
    parse_espeak_ng_lines,
    sanitize_for_espeak_ng,
    split_on_sentinel,
)
from espkit.text.phoneme_tokenizer import PhonemeTokenizer, g2p_type_to_voice

needs_espeak_ng = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="the Debian package espeak-ng is not installed"
)


@pytest.fixture
def count_subprocess_runs(monkeypatch):
    """Counts subprocess.run calls (each one is an espeak-ng process)."""
    calls = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        calls.append(args[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(espeak_ng_g2p.subprocess, "run", counting_run)
    return calls


# ---- pure functions (no espeak-ng) ----


def test_g2p_type_to_voice():
    assert g2p_type_to_voice("espeak_ng_english") == "en-us"
    assert g2p_type_to_voice("espeak_ng_en_us") == "en-us"
    assert g2p_type_to_voice("espeak_ng_en_gb") == "en-gb"
    assert g2p_type_to_voice("espeak_ng:de") == "de"
    for bad in ("g2p_en", "espeak_ng:", "espeak_ng:  "):
        with pytest.raises(ValueError, match="espeak_ng_english.*espeak_ng:<voice>"):
            g2p_type_to_voice(bad)


def test_parse_espeak_ng_lines_drops_language_flags_and_empty_phonemes():
    lines = ["h|ə|l|ˈoʊ w|ˈɜː|l|d||", "|(en)|ˈeɪ|tʃ |(ja)"]
    assert parse_espeak_ng_lines(lines) == (
        ("h", "ə", "l", "ˈoʊ"),
        ("w", "ˈɜː", "l", "d"),
        ("ˈeɪ", "tʃ"),
    )
    assert parse_espeak_ng_lines([]) == ()


def test_split_on_sentinel():
    out = ["S", "a1", "a2", "S", "", "S", "c", "S", ""]
    assert split_on_sentinel(out, 3) == [["a1", "a2"], [], ["c"]]
    assert split_on_sentinel(out, 2) is None  # one sentinel too many
    assert split_on_sentinel(["S", "a", "S", "b"], 2) is None  # text after the last sentinel
    assert split_on_sentinel([], 1) is None


def test_sanitize_for_espeak_ng():
    assert sanitize_for_espeak_ng(" a\tb\nc\r ") == "a b c"
    assert sanitize_for_espeak_ng("say [[h@loU]]") == "say [ [h@loU]]"


def test_missing_program_says_how_to_install(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match=r"apt-get install espeak-ng"):
        EspeakNgG2p("en-us", program="espeak-ng-not-installed-here")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"Debian package espeak-ng"):
        PhonemeTokenizer("espeak_ng_english")


# ---- with espeak-ng ----


@needs_espeak_ng
def test_english_sentences_have_phonemes_and_word_boundaries():
    tokenizer = PhonemeTokenizer("espeak_ng_english")
    tokens = tokenizer.text2tokens("Hello world")
    assert tokens.count("<space>") == 1
    first, second = tokenizer.tokens2text(tokens).split(" ")
    assert first.startswith("h") and second.startswith("w") and second.endswith("d")
    assert "ˈ" in first + second  # stress marks kept
    for sentence in ("The quick brown fox jumps.", "She sells sea shells"):
        tokens = tokenizer.text2tokens(sentence)
        assert tokens and all(tokens)
        assert tokens.count("<space>") >= 2
        assert tokens[0] != "<space>" and tokens[-1] != "<space>"
        assert "|" not in "".join(tokens)
    assert tokenizer.text2tokens("") == []
    assert tokenizer.text2tokens("   ") == []


@needs_espeak_ng
def test_batch_equals_per_line_with_internal_punctuation(count_subprocess_runs):
    lines = [
        "Hello, world. Yes!",
        "",
        "The cat sat; the dog ran: fast?",
        "A.B.C. and U.S.A.",
        SENTINEL_TEXT,  # its phonemes equal the sentinel's: forces the halving retry
        "one",
    ]
    batch = PhonemeTokenizer("espeak_ng_english").text2tokens_batch(lines)
    single = PhonemeTokenizer("espeak_ng_english")
    per_line = [single.text2tokens(line) for line in lines]
    assert batch == per_line
    assert len(batch) == len(lines)
    assert batch[1] == []
    hello = batch[0]
    assert hello.count("<space>") == 2  # three words from three clauses
    assert batch[5] == single.text2tokens("one")


@needs_espeak_ng
def test_cache_hit_avoids_subprocess(count_subprocess_runs):
    tokenizer = PhonemeTokenizer("espeak_ng_english")
    first = tokenizer.text2tokens("Good morning")
    assert len(count_subprocess_runs) == 1
    assert tokenizer.text2tokens("Good morning") == first
    assert tokenizer.text2tokens_batch(["Good morning", "Good morning"]) == [first, first]
    assert len(count_subprocess_runs) == 1


@needs_espeak_ng
def test_disk_cache_is_reused_by_a_new_tokenizer(tmp_path, count_subprocess_runs):
    writer = PhonemeTokenizer("espeak_ng_en_gb", cache_dir=tmp_path)
    tokens = writer.text2tokens_batch(["Good night", "See you"])
    cache_file = tmp_path / "espeak_ng_en-gb.jsonl"
    records = [json.loads(line) for line in cache_file.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == ["Good night", "See you"]
    assert records[0]["words"][0][0] == "ɡ"
    calls_before = len(count_subprocess_runs)
    reader = PhonemeTokenizer("espeak_ng_en_gb", cache_dir=tmp_path)
    assert reader.text2tokens_batch(["See you", "Good night"]) == tokens[::-1]
    assert len(count_subprocess_runs) == calls_before
    # a cut-short last line (killed writer) is skipped, not fatal
    with cache_file.open("a", encoding="utf-8") as f:
        f.write('{"text": "broken", "wor')
    reread = PhonemeTokenizer("espeak_ng_en_gb", cache_dir=tmp_path)
    assert reread.text2tokens("See you") == tokens[1]


@needs_espeak_ng
def test_600_sentences_take_one_espeak_ng_call(count_subprocess_runs):
    tokenizer = build_tokenizer("phn", g2p_type="espeak_ng_english")
    lines = [f"Go {i}, now." for i in range(600)]
    result = tokenizer.text2tokens_batch(lines)
    assert len(count_subprocess_runs) == 1
    assert tokenizer.g2p.num_calls == 1
    assert len(result) == 600 and all(tokens.count("<space>") >= 2 for tokens in result)
    assert result[7] != result[8]


@needs_espeak_ng
def test_non_linguistic_symbols_and_space_symbol():
    tokenizer = PhonemeTokenizer("espeak_ng_english", non_linguistic_symbols=["<laugh>"], space_symbol="|sp|")
    tokens = tokenizer.text2tokens("hi <laugh> there")
    index = tokens.index("<laugh>")
    assert tokens[index - 1] == "|sp|" and tokens[index + 1] == "|sp|"
    assert tokenizer.text2tokens("<laugh>hi")[0] == "<laugh>"
    assert tokenizer.text2tokens("<laugh>hi")[1] != "|sp|"
    removing = PhonemeTokenizer(
        "espeak_ng_english", non_linguistic_symbols=["<laugh>"], remove_non_linguistic_symbols=True
    )
    assert removing.text2tokens("hi <laugh> there") == removing.text2tokens("hi there")


@needs_espeak_ng
def test_generic_voice_and_unknown_voice():
    german = PhonemeTokenizer("espeak_ng:de").text2tokens("guten Tag")
    assert german.count("<space>") == 1 and german[0] == "ɡ"
    with pytest.raises(ValueError, match="no voice 'xx-nope'.*espeak-ng --voices"):
        PhonemeTokenizer("espeak_ng:xx-nope").text2tokens("hello")


def test_g2p_none_splits_phoneme_text_as_espnet2():
    """``g2p_type=None``: the text is phonemes already; three spaces are a word boundary."""
    tokenizer = PhonemeTokenizer(g2p_type=None)
    assert tokenizer.g2p is None
    assert tokenizer.text2tokens("HH AH0 L OW1   W ER1 L D") == ["HH", "AH0", "L", "OW1", " ", "W", "ER1", "L", "D"]
    assert tokenizer.tokens2text(["a", "b"]) == "ab"
