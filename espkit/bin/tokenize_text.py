"""Tokenize a text file, or write the token list (vocabulary) of its tokens.

Examples::

    # kaldi-style "uid text" -> a token list with ESPnet's special symbols
    python -m espkit.bin.tokenize_text -i data/train/text -o data/token_list/char/tokens.txt \\
        --field 2- --token_type char --write_vocabulary true \\
        --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1'

    # phonemes of each line, space-separated, to stdout
    python -m espkit.bin.tokenize_text -i data/train/text -o - -f 2- --token_type phn \\
        --g2p espeak_ng_english --cleaner english
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from espkit.fileio.atomic_file import atomic_write
from espkit.text.build_tokenizer import build_tokenizer
from espkit.text.cleaner import TextCleaner
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging
from espkit.utils.types import str2bool, str_or_none

logger = logging.getLogger(__name__)

# Lines tokenized per batch: one espeak-ng process per batch for --token_type phn.
BATCH_SIZE = 2000


def field_to_slice(field: str) -> slice:
    """cut-style 1-based field range -> 0-based slice: ``"2-"`` -> ``slice(1, None)``,
    ``"2-3"`` -> ``slice(1, 3)``, ``"2"`` -> ``slice(1, 2)``."""
    start_text, dash, end_text = field.strip().partition("-")
    try:
        start = int(start_text)
        end = int(end_text) if end_text else None
    except ValueError:
        start = end = 0
    if start < 1 or (dash and end is not None and end < start) or (not dash and end_text):
        raise ValueError(f"--field {field!r}: expected N, N-M or N- with 1 <= N <= M, e.g. 2-")
    if not dash:
        return slice(start - 1, start)
    return slice(start - 1, end)


def parse_add_symbol(value: str) -> tuple[str, int]:
    """``"<blank>:0"`` -> ``("<blank>", 0)``; the index may be negative (``-1`` = last)."""
    symbol, colon, index_text = value.rpartition(":")
    try:
        index = int(index_text)
    except ValueError:
        index = None
    if not colon or not symbol or index is None:
        raise ValueError(f"--add_symbol {value!r}: expected SYMBOL:INDEX, e.g. '<unk>:1' or '<sos/eos>:-1'")
    return symbol, index


def build_vocabulary(
    counts: Counter,
    vocabulary_size: int = 0,
    cutoff: int = 0,
    add_symbols: Sequence[tuple[str, int]] = (),
) -> list[str]:
    """Token list from token counts.

    Tokens seen more than ``cutoff`` times, most frequent first (ties by token), the first
    ``vocabulary_size - len(add_symbols)`` of them (all when ``vocabulary_size`` is 0), then each
    added symbol inserted at its index (negative: from the end, ``-1`` = last).

    Raises:
        ValueError: no token is left (empty ``counts`` or none above ``cutoff``), a bad
            ``vocabulary_size``, a symbol given twice or already a token, or an index out of range.
    """
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    tokens = [token for token, count in ranked if count > cutoff]
    if not tokens:
        if not ranked:
            raise ValueError("the text has no token to build a vocabulary from")
        top_token, top_count = ranked[0]
        raise ValueError(
            f"no token reaches --cutoff {cutoff}: a token must occur more than {cutoff} times, "
            f"and the most frequent one ({top_token!r}) occurs {top_count} times; lower --cutoff"
        )
    if vocabulary_size > 0:
        num_from_text = vocabulary_size - len(add_symbols)
        if num_from_text < 0:
            raise ValueError(
                f"--vocabulary_size {vocabulary_size} is smaller than the {len(add_symbols)} "
                "symbols given with --add_symbol"
            )
        if num_from_text > len(tokens):
            raise ValueError(
                f"--vocabulary_size {vocabulary_size} is too large: only {len(tokens)} tokens "
                f"(+ {len(add_symbols)} added symbols) occur more than --cutoff {cutoff} times"
            )
        tokens = tokens[:num_from_text]
    symbols = [symbol for symbol, _ in add_symbols]
    for symbol, index in add_symbols:
        if symbols.count(symbol) > 1:
            raise ValueError(f"--add_symbol {symbol!r} is given {symbols.count(symbol)} times; give it once")
        if symbol in tokens:
            raise ValueError(f"--add_symbol {symbol!r}: the symbol is already in the vocabulary (a token of the text)")
        position = index if index >= 0 else len(tokens) + 1 + index
        if not 0 <= position <= len(tokens):
            raise ValueError(
                f"--add_symbol {symbol}:{index}: index out of range; with {len(tokens)} tokens "
                f"it must be in {-len(tokens) - 1}..{len(tokens)}"
            )
        tokens.insert(position, symbol)
    return tokens


def read_input_lines(path: str) -> Iterator[tuple[int, str]]:
    """``(1-based line number, line without its newline)`` of ``path`` (``"-"``: stdin), as UTF-8.

    Raises:
        FileNotFoundError: ``path`` does not exist (message names ``--input``).
        ValueError: a line is not valid UTF-8; the message starts with ``<path>:<line>:``.
    """
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes underneath (e.g. io.StringIO)
            for lineno, line in enumerate(sys.stdin, start=1):
                yield lineno, line.rstrip("\r\n")
            return
        yield from _decode_lines(stream, "<stdin>")
        return
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"--input {path}: no such file") from None
    with f:
        yield from _decode_lines(f, path)


def _decode_lines(stream: Iterable[bytes], name: str) -> Iterator[tuple[int, str]]:
    for lineno, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{name}:{lineno}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte "
                f"{exc.start + 1} of the line: {exc.reason}); convert the file to UTF-8, e.g. with iconv"
            ) from None
        yield lineno, line.rstrip("\r\n")


@contextmanager
def _open_output(path: str) -> Iterator[TextIO]:
    """``path`` for writing (``"-"``: stdout). A file is written under a temporary name next to it
    and renamed only when the block succeeds, so a failure leaves no partial output."""
    if path == "-":
        yield sys.stdout
        return
    if Path(path).is_dir():
        raise IsADirectoryError(f"--output {path}: is a directory; give a file name")
    with atomic_write(path, "w", encoding="utf-8") as f:
        yield f


def _batches(lines: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for item in lines:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def select_field(line: str, field: str, delimiter: str | None, name: str, lineno: int) -> str:
    """The columns ``field`` (cut-style, see :func:`field_to_slice`) of ``line``, joined by the
    delimiter (a space for whitespace).

    A blank line gives ``""``, and so does a line that ends right before the first selected
    column (Kaldi ``text`` with an empty transcript); a line ending earlier is an error whose
    message starts with ``<name>:<lineno>:``.
    """
    if not line.strip():
        return ""
    field_slice = field_to_slice(field)
    columns = line.split(delimiter)
    first_column = field_slice.start + 1
    if len(columns) < first_column - 1:
        raise ValueError(
            f"{name}:{lineno}: --field {field} starts at column {first_column} but the line has "
            f"{len(columns)} column(s); check --field (and --delimiter)"
        )
    return (" " if delimiter is None else delimiter).join(columns[field_slice])


def tokenize_text(
    input: str,
    output: str,
    field: str | None,
    delimiter: str | None,
    token_type: str,
    space_symbol: str,
    non_linguistic_symbols: str | None,
    remove_non_linguistic_symbols: bool,
    cleaner: str | None,
    g2p: str | None,
    g2p_cache_dir: str | None,
    write_vocabulary: bool,
    vocabulary_size: int,
    cutoff: int,
    add_symbol: list[str],
) -> None:
    """Tokenize ``input`` into ``output`` (one line of space-separated tokens per input line), or
    with ``write_vocabulary`` write the token list instead (see :func:`build_vocabulary`)."""

    field_slice = None if field is None else field_to_slice(field)
    add_symbols = [parse_add_symbol(value) for value in add_symbol]
    if vocabulary_size < 0:
        raise ValueError(f"--vocabulary_size must be >= 0 (0 = all tokens), got {vocabulary_size}")
    text_cleaner = TextCleaner(cleaner)
    tokenizer = build_tokenizer(
        token_type=token_type,
        non_linguistic_symbols=non_linguistic_symbols,
        remove_non_linguistic_symbols=remove_non_linguistic_symbols,
        space_symbol=space_symbol,
        delimiter=delimiter,
        g2p_type=g2p,
        g2p_cache_dir=g2p_cache_dir,
    )
    logger.info("tokenizer: %s, cleaner: %s", tokenizer, text_cleaner)
    name = "<stdin>" if input == "-" else input
    counts: Counter = Counter()
    max_columns = 0  # the most columns of a line: a --field that no line reaches is refused
    with _open_output(output) as fout:
        for numbered in _batches(read_input_lines(input), BATCH_SIZE):
            batch = [line for _, line in numbered]
            if field_slice is not None:
                widths = [len(line.split(delimiter)) for line in batch if line.strip()]
                max_columns = max([max_columns, *widths])
                batch = [select_field(line, field, delimiter, name, lineno) for lineno, line in numbered]
            batch = [text_cleaner(line) for line in batch]
            for tokens in tokenizer.text2tokens_batch(batch):
                if write_vocabulary:
                    counts.update(tokens)
                else:
                    fout.write(" ".join(tokens) + "\n")
        if field_slice is not None and 0 < max_columns <= field_slice.start:
            raise ValueError(
                f"{name}: --field {field} starts at column {field_slice.start + 1} but no line has "
                f"more than {max_columns} column(s); check --field (and --delimiter)"
            )
        if write_vocabulary:
            if not counts:
                raise ValueError(f"{name}: the text has no token; nothing to build a vocabulary from")
            vocabulary = build_vocabulary(counts, vocabulary_size, cutoff, add_symbols)
            fout.writelines(token + "\n" for token in vocabulary)
            kept = set(vocabulary)
            total = sum(counts.values())
            unknown = sum(count for token, count in counts.items() if token not in kept)
            logger.info(
                "vocabulary of %d tokens; OOV rate %.2f%%",
                len(vocabulary),
                100.0 * unknown / total if total else 0.0,
            )


def get_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m espkit.bin.tokenize_text``."""
    parser = argparse.ArgumentParser(
        description="Tokenize texts, or write their token list",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--log_level",
        type=lambda x: x.upper(),
        default="INFO",
        choices=("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"),
        help="The verbose level of logging",
    )
    parser.add_argument("--input", "-i", required=True, help="Input text file ('-' for stdin)")
    parser.add_argument("--output", "-o", required=True, help="Output file ('-' for stdout)")
    parser.add_argument(
        "--field",
        "-f",
        help="The columns to tokenize, cut-style and 1-based: N, N-M or N- (2- skips the uid)",
    )
    parser.add_argument("--token_type", "-t", default="char", choices=("char", "phn", "word"), help="Token type")
    parser.add_argument(
        "--delimiter",
        "-d",
        default=None,
        help="Column/word separator for --field and --token_type word (default: whitespace)",
    )
    parser.add_argument("--space_symbol", default="<space>", help="The token for a space")
    parser.add_argument(
        "--non_linguistic_symbols",
        type=str_or_none,
        help="File with non-linguistic symbols (one per line), kept as single tokens",
    )
    parser.add_argument(
        "--remove_non_linguistic_symbols",
        type=str2bool,
        default=False,
        help="Remove the non-linguistic symbols from the tokens",
    )
    parser.add_argument(
        "--cleaner",
        type=str_or_none,
        choices=(None, "english", "tacotron"),
        default=None,
        help="Text cleaner applied before tokenization (none: no cleaning)",
    )
    parser.add_argument(
        "--g2p",
        type=str_or_none,
        default=None,
        help="G2P for --token_type phn: espeak_ng_english, espeak_ng_en_us, espeak_ng_en_gb, or espeak_ng:<voice>",
    )
    parser.add_argument(
        "--g2p_cache_dir",
        type=str_or_none,
        default=None,
        help="Directory for an on-disk G2P cache reused by later runs and by training",
    )
    parser.add_argument(
        "--write_vocabulary",
        type=str2bool,
        default=False,
        help="Write the token list (most frequent first) instead of the tokenized text",
    )
    parser.add_argument(
        "--vocabulary_size",
        type=int,
        default=0,
        help="Size of the token list including --add_symbol symbols (0: all tokens)",
    )
    parser.add_argument(
        "--cutoff",
        type=int,
        default=0,
        help="Keep only tokens seen more than this many times (--write_vocabulary)",
    )
    parser.add_argument(
        "--add_symbol",
        type=str,
        default=[],
        action="append",
        help="Insert a symbol into the token list as SYMBOL:INDEX (negative: from the end), "
        "e.g. --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1'",
    )
    return parser


def main(cmd: Sequence[str] | None = None) -> None:
    """Parse ``cmd`` (default: ``sys.argv[1:]``) and run :func:`tokenize_text`."""
    parser = get_parser()
    args = parser.parse_args(cmd)
    try:  # report malformed values as usage errors, before any work
        if args.field is not None:
            field_to_slice(args.field)
        for value in args.add_symbol:
            parse_add_symbol(value)
    except ValueError as exc:
        parser.error(str(exc))
    setup_logging(args.log_level)
    kwargs = vars(args)
    kwargs.pop("log_level")
    with exit_on_error((ValueError, OSError), logger):
        tokenize_text(**kwargs)


if __name__ == "__main__":
    main()
