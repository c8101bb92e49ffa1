import pytest

from espkit.text.cleaner import CLEANERS, TextCleaner
from espkit.text.english_cleaner import english_cleaner, strip_accents
from espkit.text.english_numbers import (
    cardinal_to_words,
    expand_numbers,
    ordinal_to_words,
    year_to_words,
)


@pytest.mark.parametrize(
    "number, words",
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety-nine"),
        (100, "one hundred"),
        (305, "three hundred five"),
        (1000, "one thousand"),
        (1234567, "one million two hundred thirty-four thousand five hundred sixty-seven"),
        (2_000_000_001, "two billion one"),
        (-42, "minus forty-two"),
    ],
)
def test_cardinal_to_words(number, words):
    assert cardinal_to_words(number) == words


def test_cardinal_beyond_scales_reads_digits():
    assert cardinal_to_words(10**18 + 5).startswith("one zero zero")


@pytest.mark.parametrize(
    "number, words",
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (4, "fourth"),
        (5, "fifth"),
        (8, "eighth"),
        (9, "ninth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (100, "one hundredth"),
        (1_000_000, "one millionth"),
    ],
)
def test_ordinal_to_words(number, words):
    assert ordinal_to_words(number) == words


@pytest.mark.parametrize(
    "year, words",
    [
        (1984, "nineteen eighty-four"),
        (1905, "nineteen oh five"),
        (1900, "nineteen hundred"),
        (2000, "two thousand"),
        (2008, "two thousand eight"),
        (2024, "twenty twenty-four"),
    ],
)
def test_year_to_words(year, words):
    assert year_to_words(year) == words


@pytest.mark.parametrize(
    "text, expanded",
    [
        ("the 1st, 2nd, 3rd and 21st", "the first, second, third and twenty-first"),
        ("it costs $5", "it costs five dollars"),
        ("$1 only", "one dollar only"),
        ("$5.50", "five dollars, fifty cents"),
        ("$0.01", "one cent"),
        ("$2.5 million", "two point five million dollars"),
        ("£3", "three pounds"),
        ("3.5 kg", "three point five kg"),
        ("0.25", "zero point two five"),
        ("50%", "fifty percent"),
        (
            "1,234,567 people",
            "one million two hundred thirty-four thousand five hundred sixty-seven people",
        ),
        ("-4 degrees", "minus four degrees"),
        ("mp3", "mp three"),
        ("agent 007", "agent zero zero seven"),
        ("no digits here", "no digits here"),
    ],
)
def test_expand_numbers(text, expanded):
    assert expand_numbers(text) == expanded


def test_english_cleaner_full_sentence():
    text = "  Mr. Smith  and Dr.\tJones paid $20\u2014on the 3rd of May, 1984!  "
    assert english_cleaner(text) == (
        "mister smith and doctor jones paid twenty dollars - on the third of may, nineteen eighty-four!"
    )


@pytest.mark.parametrize(
    "text, cleaned",
    [
        ("Mrs. Brown", "missus brown"),
        ("St. Louis Co. Jr.", "saint louis company junior"),
        ("apples, pears, etc.", "apples, pears, et cetera"),
        ("the first.", "the first."),  # "st." inside a word is no abbreviation
        ("\u201cHi\u201d, it\u2019s", '"hi", it\'s'),
        ("wait\u2026", "wait..."),
        ("a   b \n c", "a b c"),
        ("Caf\u00e9 na\u00efve \u00e6on", "cafe naive aeon"),
    ],
)
def test_english_cleaner_pieces(text, cleaned):
    assert english_cleaner(text) == cleaned


def test_strip_accents_keeps_non_latin():
    assert strip_accents("日本 é") == "日本 e"


def test_text_cleaner_names_and_order():
    assert TextCleaner()("Mr. X  ") == "Mr. X  "
    assert TextCleaner("none")("Mr. X") == "Mr. X"
    assert TextCleaner("tacotron")("Mr. X 2") == "MISTER X TWO"  # ESPnet2's cleaner upper-cases
    assert TextCleaner(["none", "english"])("Dr. Who") == "doctor who"
    assert TextCleaner(["english"]).cleaner_types == ["english"]
    assert set(CLEANERS) >= {"none", "english", "tacotron"}


def test_text_cleaner_unknown_name_lists_valid():
    with pytest.raises(ValueError, match=r"unknown text cleaner 'jaconv'.*none, english, tacotron"):
        TextCleaner(["english", "jaconv"])


@pytest.mark.parametrize(
    "text, cleaned",
    [
        ("(Hello-World);   &  jr. & dr.", "HELLO WORLD, AND JUNIOR AND DOCTOR"),  # ESPnet2's docstring example
        ("The birch canoe slid on the smooth planks.", "THE BIRCH CANOE SLID ON THE SMOOTH PLANKS."),
        ('It cost $20: a "bargain" <sic> [1999].', "IT COST TWENTY DOLLARS, A BARGAIN SIC NINETEEN NINETY NINE."),
        ("A well-known 21st-century fact", "A WELL KNOWN TWENTY FIRST CENTURY FACT"),
    ],
)
def test_tacotron_cleaner_matches_espnet2_rules(text, cleaned):
    assert TextCleaner("tacotron")(text) == cleaned
