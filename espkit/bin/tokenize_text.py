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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

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
        raise ValueError(
            f"--add_symbol {value!r}: expected SYMBOL:INDEX, e.g. '<unk>:1' or '<sos/eos>:-1'"
        )
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
    """
    tokens = [
        token
        for token, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if count > cutoff
    ]
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
    for symbol, index in add_symbols:
        if symbol in tokens:
            raise ValueError(f"--add_symbol {symbol!r}: the symbol is already in the vocabulary")
        position = index if index >= 0 else len(tokens) + 1 + index
        if not 0 <= position <= len(tokens):
            raise ValueError(
                f"--add_symbol {symbol}:{index}: index out of range for {len(tokens)} tokens"
            )
        tokens.insert(position, symbol)
    return tokens


@contextmanager
def _open_input(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdin
    else:
        with open(path, encoding="utf-8") as f:
            yield f


@contextmanager
def _open_output(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdout
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            yield f


def _batches(lines: TextIO, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line.rstrip("\r\n"))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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
    from espkit.text.build_tokenizer import build_tokenizer
    from espkit.text.cleaner import TextCleaner

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
    counts: Counter = Counter()
    with _open_input(input) as fin, _open_output(output) as fout:
        for batch in _batches(fin, BATCH_SIZE):
            if field_slice is not None:
                joiner = " " if delimiter is None else delimiter
                batch = [joiner.join(line.split(delimiter)[field_slice]) for line in batch]
            batch = [text_cleaner(line) for line in batch]
            for tokens in tokenizer.text2tokens_batch(batch):
                if write_vocabulary:
                    counts.update(tokens)
                else:
                    fout.write(" ".join(tokens) + "\n")
        if write_vocabulary:
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
    parser.add_argument(
        "--token_type", "-t", default="char", choices=("char", "phn", "word"), help="Token type"
    )
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
        help="G2P for --token_type phn: espeak_ng_english, espeak_ng_en_us, espeak_ng_en_gb, "
        "or espeak_ng:<voice>",
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
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    kwargs = vars(args)
    kwargs.pop("log_level")
    tokenize_text(**kwargs)


if __name__ == "__main__":
    main()
