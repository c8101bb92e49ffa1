"""Grapheme-to-phoneme conversion with the ``espeak-ng`` program (Debian package ``espeak-ng``).

Many texts go to ONE ``espeak-ng`` process: one text per input line, each followed by a sentinel
line whose phonemes are recognisable in the output. espeak-ng writes one output line per clause
(it splits at ``,``, ``.``, ``!``, long lines, ...), so the sentinel lines, not the line count,
tell which output lines belong to which text. If the output cannot be split that way (a text that
merges with its sentinel, or whose phonemes equal the sentinel's), the batch is halved and retried,
down to one text per process, so a bad line costs a few extra calls and never a wrong mapping.

Results are cached in memory and, with ``cache_dir``, in a JSON-lines file per voice
(``<cache_dir>/espeak_ng_<voice>.jsonl``, one ``{"text": ..., "words": [[phoneme, ...], ...]}`` per
line) that later processes reuse.

>>> g2p = EspeakNgG2p("en-us")
>>> g2p(["Hello, world."])
[(('h', 'ə', 'l', 'ˈoʊ'), ('w', 'ˈɜː', 'l', 'd'))]
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

# One text's phonemes: a tuple of words, each a tuple of phoneme strings.
Phonemes = tuple[tuple[str, ...], ...]

PHONEME_SEPARATOR = "|"
# A nonsense word: espeak-ng spells it out as letters in every voice, as one clause.
SENTINEL_TEXT = "qxqzq"
# Texts per espeak-ng process; bounds the memory of one call and the cost of a retry.
MAX_TEXTS_PER_CALL = 2000

# Language switch flags such as "(en)" / "(fr)" that espeak-ng inserts for foreign words.
_LANGUAGE_FLAG_RE = re.compile(r"\([a-zA-Z][a-zA-Z0-9_-]*\)")
# Control characters (newlines, tabs, ...) would break the one-text-per-line protocol.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")

INSTALL_HINT = "install the Debian package espeak-ng (apt-get install espeak-ng)"


def sanitize_for_espeak_ng(text: str) -> str:
    """One line of plain text for espeak-ng: no control characters, no ``[[phoneme]]`` input."""
    text = _CONTROL_RE.sub(" ", text)
    # espeak-ng reads "[[...]]" as phoneme mnemonics; break the opening bracket pair.
    return text.replace("[[", "[ [").strip()


def parse_espeak_ng_lines(lines: Sequence[str]) -> Phonemes:
    """Output lines of one text (``"h|ə|l|ˈoʊ w|ˈɜː|l|d"``) -> words of phonemes."""
    words = []
    for line in lines:
        for word in _LANGUAGE_FLAG_RE.sub("", line).split():
            phonemes = tuple(p for p in word.split(PHONEME_SEPARATOR) if p)
            if phonemes:
                words.append(phonemes)
    return tuple(words)


def split_on_sentinel(output_lines: Sequence[str], num_texts: int) -> list[list[str]] | None:
    """Cut the output of ``[SENTINEL, text_1, SENTINEL, ..., text_n, SENTINEL]`` per text.

    The first non-empty output line is the sentinel's phonemes. Returns ``num_texts`` lists of
    output lines, or None when the output does not have that shape.
    """
    lines = [line.strip() for line in output_lines]
    lines = [line for line in lines if line]
    if not lines:
        return None
    signature = lines[0]
    segments: list[list[str]] = [[]]
    for line in lines[1:]:
        if line == signature:
            segments.append([])
        else:
            segments[-1].append(line)
    if len(segments) != num_texts + 1 or segments[-1]:
        return None
    return segments[:-1]


class G2pDiskCache:
    """Append-only JSON-lines cache of ``text -> phonemes`` for one voice."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Phonemes]:
        """Read all entries; lines that do not parse (a write cut short) are skipped."""
        entries: dict[str, Phonemes] = {}
        if not self.path.is_file():
            return entries
        with self.path.open(encoding="utf-8") as f:
            for line_number, line in enumerate(f, 1):
                try:
                    record = json.loads(line)
                    entries[record["text"]] = tuple(tuple(word) for word in record["words"])
                except (ValueError, KeyError, TypeError):
                    logger.warning("%s:%d: skipping a broken cache line", self.path, line_number)
        logger.debug("loaded %d g2p cache entries from %s", len(entries), self.path)
        return entries

    def append(self, entries: dict[str, Phonemes]) -> None:
        """Add entries with one write (safe enough for several data-loader workers)."""
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = "".join(
            json.dumps({"text": text, "words": [list(w) for w in words]}, ensure_ascii=False) + "\n"
            for text, words in entries.items()
        )
        with self.path.open("a", encoding="utf-8") as f:
            f.write(payload)


class EspeakNgG2p:
    """Text -> IPA phonemes per word, through the ``espeak-ng`` program.

    Args:
        voice: an espeak-ng voice/language name (``en-us``, ``en-gb``, ``de``, ...; see
            ``espeak-ng --voices``).
        cache_dir: directory for the on-disk cache; None keeps the cache in memory only.
        program: the espeak-ng executable (name on PATH or path).
    """

    def __init__(self, voice: str, cache_dir: str | Path | None = None, program: str = "espeak-ng") -> None:
        executable = shutil.which(program)
        if executable is None:
            raise RuntimeError(f"the {program!r} program was not found on PATH; {INSTALL_HINT}")
        self.voice = voice
        self.program = executable
        self.num_calls = 0  # espeak-ng processes started, for logging and tests
        self._memory: dict[str, Phonemes] = {}
        self._disk = None
        if cache_dir is not None:
            safe_voice = re.sub(r"[^\w.+-]", "_", voice)
            self._disk = G2pDiskCache(Path(cache_dir) / f"espeak_ng_{safe_voice}.jsonl")
        self._disk_loaded = False

    def __call__(self, texts: Sequence[str]) -> list[Phonemes]:
        """Phonemes of each text: ``result[i]`` is a tuple of words of ``texts[i]``.

        Texts are sanitized with :func:`sanitize_for_espeak_ng`; an empty text gives ``()``.
        """
        if self._disk is not None and not self._disk_loaded:
            self._memory.update(self._disk.load())
            self._disk_loaded = True
        clean_texts = [sanitize_for_espeak_ng(text) for text in texts]
        missing = list(dict.fromkeys(t for t in clean_texts if t and t not in self._memory))
        if missing:
            new_entries: dict[str, Phonemes] = {}
            for start in range(0, len(missing), MAX_TEXTS_PER_CALL):
                chunk = missing[start : start + MAX_TEXTS_PER_CALL]
                new_entries.update(zip(chunk, self._convert(chunk)))
            self._memory.update(new_entries)
            if self._disk is not None:
                self._disk.append(new_entries)
        return [self._memory[t] if t else () for t in clean_texts]

    def _convert(self, texts: list[str]) -> list[Phonemes]:
        """G2P for non-empty sanitized texts, with the halving retry described above."""
        if len(texts) == 1:
            return [parse_espeak_ng_lines(self._run(texts))]
        lines = [SENTINEL_TEXT]
        for text in texts:
            lines += [text, SENTINEL_TEXT]
        segments = split_on_sentinel(self._run(lines), len(texts))
        if segments is None:
            logger.debug("espeak-ng output of %d texts did not split; halving", len(texts))
            middle = len(texts) // 2
            return self._convert(texts[:middle]) + self._convert(texts[middle:])
        return [parse_espeak_ng_lines(segment) for segment in segments]

    def _run(self, lines: list[str]) -> list[str]:
        """Feed ``lines`` to one espeak-ng process; return its output lines."""
        command = [
            self.program,
            "-q",  # no audio
            # -q still synthesises (and drops) the audio; fast speech halves that work without
            # changing the phonemes (checked on en-us, en-gb, de). Above 450 wpm a slower
            # time-stretching path starts.
            "-s",
            "440",
            "--ipa",  # IPA phonemes on stdout, one line per clause
            f"--sep={PHONEME_SEPARATOR}",  # between phonemes; words stay space-separated
            "-b",
            "1",  # input is UTF-8
            "-v",
            self.voice,
        ]
        self.num_calls += 1
        try:
            process = subprocess.run(command, input=("\n".join(lines) + "\n").encode("utf-8"), capture_output=True)
        except FileNotFoundError:
            raise RuntimeError(f"cannot run {self.program!r}; {INSTALL_HINT}") from None
        stderr = process.stderr.decode("utf-8", errors="replace").strip()
        if process.returncode != 0:
            if "voice does not exist" in stderr:
                raise ValueError(
                    f"espeak-ng has no voice {self.voice!r}; list the valid ones with `espeak-ng --voices`"
                )
            raise RuntimeError(f"espeak-ng failed (exit code {process.returncode}) with voice {self.voice!r}: {stderr}")
        return process.stdout.decode("utf-8", errors="replace").splitlines()

    def __repr__(self) -> str:
        cache = None if self._disk is None else str(self._disk.path)
        return f"{self.__class__.__name__}(voice={self.voice!r}, cache={cache!r})"
