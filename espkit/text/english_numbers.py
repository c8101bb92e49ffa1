"""Spelling out English numbers: cardinals, ordinals, years, decimals, currency and percent.

Written for the ``english`` text cleaner (see :mod:`espkit.text.english_cleaner`); no external
dependency (no ``inflect``). All functions expect lower-case text.

>>> cardinal_to_words(1234567)
'one million two hundred thirty-four thousand five hundred sixty-seven'
>>> expand_numbers("the 21st of may, $5.50 and 3.5%")
'the twenty-first of may, five dollars, fifty cents and three point five percent'
"""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
# Scale words for groups of three digits; numbers beyond are read digit by digit.
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion")
_MAX_CARDINAL = 1000 ** len(_SCALES) - 1

_IRREGULAR_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

# name -> (singular, plural, minor singular, minor plural)
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}


def _below_thousand(number: int) -> str:
    """Words for ``0 < number < 1000`` (no "and", hyphenated tens: "three hundred forty-two")."""
    words = []
    hundreds, rest = divmod(number, 100)
    if hundreds:
        words.append(f"{_ONES[hundreds]} hundred")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest:
        words.append(_ONES[rest])
    return " ".join(words)


def digits_to_words(digits: str) -> str:
    """Read a string of digits one by one: ``"007"`` -> ``"zero zero seven"``."""
    return " ".join(_ONES[int(d)] for d in digits)


def cardinal_to_words(number: int) -> str:
    """Spell an integer: ``-42`` -> ``"minus forty-two"``; beyond quadrillions, digit by digit."""
    if number < 0:
        return "minus " + cardinal_to_words(-number)
    if number < 20:
        return _ONES[number]
    if number > _MAX_CARDINAL:
        return digits_to_words(str(number))
    groups = []
    scale = 0
    while number:
        number, group = divmod(number, 1000)
        if group:
            words = _below_thousand(group)
            groups.append(f"{words} {_SCALES[scale]}" if scale else words)
        scale += 1
    return " ".join(reversed(groups))


def ordinal_to_words(number: int) -> str:
    """Spell an ordinal: 1 -> "first", 21 -> "twenty-first", 100 -> "one hundredth"."""
    words = cardinal_to_words(number)
    head, sep, last = words.rpartition(" ")
    prefix, hyphen, last_part = last.rpartition("-")
    if last_part in _IRREGULAR_ORDINALS:
        last_part = _IRREGULAR_ORDINALS[last_part]
    elif last_part.endswith("y"):
        last_part = last_part[:-1] + "ieth"
    else:
        last_part += "th"
    return head + sep + prefix + hyphen + last_part


def year_to_words(number: int) -> str:
    """Read a year the usual way: 1984 -> "nineteen eighty-four", 1905 -> "nineteen oh five",
    1900 -> "nineteen hundred", 2000 -> "two thousand", 2008 -> "two thousand eight"."""
    if not 1000 < number < 3000 or 2000 <= number < 2010:
        return cardinal_to_words(number)
    high, low = divmod(number, 100)
    if low == 0:
        return f"{cardinal_to_words(high)} hundred"
    if low < 10:
        return f"{cardinal_to_words(high)} oh {_ONES[low]}"
    return f"{cardinal_to_words(high)} {cardinal_to_words(low)}"


def integer_string_to_words(digits: str) -> str:
    """Spell an integer written in digits, choosing how to read it.

    Leading zeros ("007") are read digit by digit, four-digit numbers between 1000 and 3000 as
    years, everything else as a cardinal.
    """
    if len(digits) > 1 and digits.startswith("0"):
        return digits_to_words(digits)
    number = int(digits)
    if 1000 < number < 3000 and len(digits) == 4:
        return year_to_words(number)
    return cardinal_to_words(number)


def decimal_string_to_words(integer_part: str, fraction_part: str) -> str:
    """``("3", "14")`` -> ``"three point one four"``."""
    return f"{integer_string_to_words(integer_part)} point {digits_to_words(fraction_part)}"


def _currency_to_words(match: re.Match) -> str:
    symbol, integer_part, fraction_part, scale = match.group(1, 2, 3, 4)
    major_one, major_many, minor_one, minor_many = _CURRENCIES[symbol]
    integer_part = integer_part.replace(",", "")
    if scale:  # "$2.5 million" -> "two point five million dollars"
        amount = (
            decimal_string_to_words(integer_part, fraction_part)
            if fraction_part
            else cardinal_to_words(int(integer_part))
        )
        return f"{amount} {scale.strip()} {major_many}"
    if fraction_part is not None and len(fraction_part) > 2:
        return f"{decimal_string_to_words(integer_part, fraction_part)} {major_many}"
    major = int(integer_part)
    minor = int(fraction_part.ljust(2, "0")) if fraction_part else 0
    parts = []
    if major or not minor:
        parts.append(f"{cardinal_to_words(major)} {major_one if major == 1 else major_many}")
    if minor:
        parts.append(f"{cardinal_to_words(minor)} {minor_one if minor == 1 else minor_many}")
    return ", ".join(parts)


_CURRENCY_RE = re.compile(
    r"([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
    r"(\s+(?:thousand|million|billion|trillion)\b)?"
)
_THOUSANDS_COMMA_RE = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_PERCENT_RE = re.compile(r"\s*%")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_DECIMAL_RE = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
_LEADING_POINT_RE = re.compile(r"(?<![\w.])\.(\d+)(?![\d.])")
_NEGATIVE_RE = re.compile(r"(?<![\w.])-(?=\d)")
_LETTER_DIGIT_RE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_RANGE_RE = re.compile(r"(?<=\d)-(?=\d)")
_INTEGER_RE = re.compile(r"\d+")


def expand_numbers(text: str) -> str:
    """Replace every number written in digits in lower-case ``text`` by words.

    Order: currency ("$5.50", "£3", "$2 million"), thousands separators ("1,000"), percent
    ("5%" -> "5 percent"), ordinals ("21st"), decimals ("3.5", ".5"), minus signs ("-4"), digits
    glued to letters ("mp3" -> "mp 3"), ranges ("1990-2000" -> "1990 - 2000"), then the remaining
    integers.
    """
    text = _CURRENCY_RE.sub(_currency_to_words, text)
    text = _THOUSANDS_COMMA_RE.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _PERCENT_RE.sub(" percent", text)
    text = _ORDINAL_RE.sub(lambda m: ordinal_to_words(int(m.group(1))), text)
    text = _DECIMAL_RE.sub(lambda m: decimal_string_to_words(m.group(1), m.group(2)), text)
    text = _LEADING_POINT_RE.sub(lambda m: f"point {digits_to_words(m.group(1))}", text)
    text = _NEGATIVE_RE.sub("minus ", text)
    text = _LETTER_DIGIT_RE.sub(" ", text)
    text = _RANGE_RE.sub(" - ", text)
    return _INTEGER_RE.sub(lambda m: integer_string_to_words(m.group(0)), text)
