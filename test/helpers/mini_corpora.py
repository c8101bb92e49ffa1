"""Miniature LJSpeech 1.1 and VCTK 0.92 corpora in their published layouts, and a Kaldi data
directory of long recordings with ``segments`` and pipe entries, spoken by espeak-ng voices.

Each "speaker" is an espeak-ng voice; FLAC is written by soundfile. Sentences come from the
espeak_emo recipe's Harvard list. Needs the Debian package espeak-ng.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from espkit.fileio.read_text import write_2columns_text
from espkit.fileio.resample import resample
from espkit.fileio.sound_scp import read_wav

REPO = Path(__file__).resolve().parents[2]
SENTENCES = [
    line.strip()
    for line in (REPO / "egs/espeak_emo/tts1/local/harvard_sentences.txt").read_text().splitlines()
    if line.strip()
]
#: espeak-ng voices standing in for speakers
VOICES = {"LJ": "en-us+f2", "p225": "en-gb+f3", "p226": "en-us+m3", "p315": "en-gb+m1"}


def espeak(text: str, voice: str) -> tuple[int, np.ndarray]:
    """``(fs, int16 samples (T,))`` of ``text`` spoken by espeak-ng ``voice`` (22050 Hz)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        return read_wav(path)


def make_ljspeech(root: Path, num_utts: int = 14) -> Path:
    """``root/LJSpeech-1.1`` with ``metadata.csv`` (``id|raw|normalized``) and ``wavs/<id>.wav``
    (22050 Hz 16-bit); ids ``LJ001-0001``..., half in chapter 1, half in chapter 2."""
    corpus = root / "LJSpeech-1.1"
    (corpus / "wavs").mkdir(parents=True)
    lines = []
    for i in range(num_utts):
        uid = f"LJ{1 + i // (num_utts // 2):03d}-{1 + i % (num_utts // 2):04d}"
        normalized = SENTENCES[i]
        raw = normalized.upper()  # differs from the normalized text, so a test can tell which one is used
        fs, samples = espeak(normalized, VOICES["LJ"])
        soundfile.write(corpus / "wavs" / f"{uid}.wav", samples, fs, subtype="PCM_16")
        lines.append(f"{uid}|{raw}|{normalized}\n")
    (corpus / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    (corpus / "README").write_text("A miniature LJSpeech 1.1 made by espeak-ng for the tests.\n")
    return corpus


def make_vctk(root: Path, utts_per_speaker: int = 7, missing_text: str | None = "p226_003") -> Path:
    """``root/VCTK-Corpus-0.92``: speakers p225 and p226 with ``utts_per_speaker`` utterances as
    ``wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac`` (48 kHz, resampled from espeak-ng) and
    ``txt/<spk>/<spk>_<nnn>.txt``; ``missing_text``'s text file is left out, and p315 has audio but
    no texts, as in the published corpus."""
    corpus = root / "VCTK-Corpus-0.92"
    index = 0
    for speaker in ("p225", "p226", "p315"):
        count = utts_per_speaker if speaker != "p315" else 2
        (corpus / "wav48_silence_trimmed" / speaker).mkdir(parents=True)
        if speaker != "p315":
            (corpus / "txt" / speaker).mkdir(parents=True)
        for n in range(1, count + 1):
            uid = f"{speaker}_{n:03d}"
            sentence = SENTENCES[100 + index]
            index += 1
            fs, samples = espeak(sentence, VOICES[speaker])
            audio = np.clip(resample(samples / 32768.0, fs, 48000), -1, 1)
            soundfile.write(corpus / "wav48_silence_trimmed" / speaker / f"{uid}_mic1.flac", audio, 48000, "PCM_16")
            if speaker != "p315" and uid != missing_text:
                (corpus / "txt" / speaker / f"{uid}.txt").write_text(sentence + "\n", encoding="utf-8")
    (corpus / "speaker-info.txt").write_text("ID  AGE  GENDER  ACCENTS  REGION COMMENTS\n")
    return corpus


def make_segmented_data_dir(root: Path, utts_per_recording: int = 3, fs_out: int = 48000) -> dict:
    """A Kaldi data directory ``root/data`` whose utterances are stretches of two long recordings
    (``segments``), one recording a FLAC file at ``fs_out`` Hz and one a pipe entry (``cat ... |``);
    the recordings hold the utterances back to back with 0.2 s of silence between them.

    Returns:
        ``{"data": dir, "utterances": {uid: float64 samples at fs_out (T,)}, "fs": fs_out}``.
    """
    data = root / "data"
    audio_dir = root / "recordings"
    audio_dir.mkdir(parents=True)
    wav_scp, segments, text, utt2spk, utterances = {}, {}, {}, {}, {}
    gap = np.zeros(int(0.2 * fs_out))
    index = 0
    for rec, voice in (("rec1", VOICES["p225"]), ("rec2", VOICES["p226"])):
        pieces, start = [gap], len(gap)
        for n in range(utts_per_recording):
            uid = f"{rec}_utt{n + 1}"
            sentence = SENTENCES[200 + index]
            index += 1
            fs, samples = espeak(sentence, voice)
            # 16-bit values, so the FLAC holds exactly these samples
            audio = np.round(np.clip(resample(samples / 32768.0, fs, fs_out), -1, 1 - 2**-15) * 32768) / 32768
            pieces += [audio, gap]
            segments[uid] = f"{rec} {start / fs_out:.6f} {(start + len(audio)) / fs_out:.6f}"
            utterances[uid] = audio
            text[uid] = sentence
            utt2spk[uid] = rec
            start += len(audio) + len(gap)
        path = audio_dir / f"{rec}.flac"
        soundfile.write(path, np.concatenate(pieces), fs_out, subtype="PCM_16")
        wav_scp[rec] = str(path) if rec == "rec1" else f"cat {shlex.quote(str(path))} |"
    write_2columns_text(data / "wav.scp", wav_scp)
    write_2columns_text(data / "segments", segments)
    write_2columns_text(data / "text", text)
    write_2columns_text(data / "utt2spk", utt2spk)
    return {"data": data, "utterances": utterances, "fs": fs_out}
