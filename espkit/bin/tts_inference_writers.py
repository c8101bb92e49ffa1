"""What ``tts_inference`` writes under ``--output_dir`` for each utterance.

=================================  ===========================================================
path                               content
=================================  ===========================================================
``wav/<uid>.wav``, ``wav/wav.scp``  16-bit PCM waveform at the model's ``fs``
``norm/<uid>.npy``, ``feats.scp``   generated features ``(T_feats, odim)``, normalised
``denorm/<uid>.npy``, ``feats.scp`` the same, de-normalised (what the vocoder reads)
``probs/<uid>.npy``, ``probs.scp``  stop probabilities ``(T_feats,)`` (Tacotron2)
``att_ws/<uid>.npy``, ``att_ws.scp``  attention weights ``(T_feats, T_text + 1)`` (+ ``<uid>.png``; Tacotron2)
``durations/durations``            ``<uid> d_1 ... d_{T_text+1}`` (frames per token: from the
                                   attention, or a duration model's own)
``focus_rates/focus_rates``        ``<uid> <focus rate>`` (Tacotron2)
``pitch/pitch``                    ``<uid> f_1 ... f_{T_text+1}``: F0 per token in Hz, 0 unvoiced
                                   (FastSpeech2; ``tts_inference --pitch_file`` reads it back)
``energy/energy``                  ``<uid> e_1 ... e_{T_text+1}``: energy per token (FastSpeech2;
                                   ``--energy_file``)
``speech_shape/speech_shape``      ``<uid> T_feats,odim``
``emotions/emotions``              ``<uid> <emotion name or name:weight,...>``
``streams/<uid><ext>``             NSF-style streams (``--output_streams``), raw ``<f4`` or WAV
=================================  ===========================================================

Models without attention (FastSpeech2, FastSpeech) have no ``prob``/``att_w``: no ``probs/``,
``att_ws/`` (nor plots) or ``focus_rates`` are written for them, and ``durations`` are the ones they used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from espkit.fileio.datadir_writer import DatadirWriter
from espkit.fileio.npy_scp import NpyScpWriter
from espkit.fileio.rawf32 import write_raw_f32
from espkit.fileio.sound_scp import SoundScpWriter, write_wav
from espkit.tts.feats_extract.pitch import Pitch
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

#: Stream names of ``--output_streams`` and what they hold.
STREAM_NAMES = {
    "mel": "de-normalised generated features (T_feats, odim)",
    "mel_norm": "normalised generated features (T_feats, odim)",
    "f0": "F0 in Hz (0 = unvoiced) of the generated waveform, on the feature frames (T_feats, 1)",
    "wav": "the generated waveform (T_wav, 1)",
}


@dataclass(frozen=True)
class OutputStream:
    """One ``name:dim:ext`` entry of ``--output_streams``."""

    name: str
    dim: int
    ext: str


def parse_output_streams(spec: Optional[str]) -> List[OutputStream]:
    """``"mel:80:.mel,f0:1:.f0"`` -> streams; errors name the entry and the valid names."""
    if not spec:
        return []
    streams = []
    for entry in spec.split(","):
        parts = entry.strip().split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].startswith(".") or len(parts[2]) < 2:
            raise ConfigError(f"--output_streams: cannot parse {entry!r}; write name:dim:.ext, e.g. mel:80:.mel")
        name, dim, ext = parts[0], int(parts[1]), parts[2]
        if name not in STREAM_NAMES:
            raise ConfigError(f"--output_streams: unknown stream {name!r}; valid: {', '.join(STREAM_NAMES)}")
        if name in ("f0", "wav") and dim != 1:
            raise ConfigError(f"--output_streams: stream {name} has dim 1, got {dim}")
        if ext == ".wav" and name != "wav":
            raise ConfigError(f"--output_streams: only the wav stream can be written as .wav, got {entry!r}")
        if any(s.ext == ext for s in streams):
            raise ConfigError(f"--output_streams: extension {ext} is used twice")
        streams.append(OutputStream(name, dim, ext))
    return streams


def plot_attention(att_w: np.ndarray, path: Path, title: str) -> bool:
    """Save attention weights ``(T_feats, T_text)`` as a PNG; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.imshow(att_w.T, aspect="auto", origin="lower", interpolation="none")
    ax.set_xlabel("output frame")
    ax.set_ylabel("input token")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


class InferenceWriters:
    """Open the output files of one ``tts_inference`` run; :meth:`write` one utterance's results.

    Args:
        output_dir: ``--output_dir``.
        text2speech: the synthesiser (for ``fs``, feature parameters and ``odim``).
        streams: parsed ``--output_streams``.
        plot_att_ws: write ``att_ws/<uid>.png``.
        f0min, f0max: F0 search range of the ``f0`` stream.
    """

    def __init__(
        self,
        output_dir: Path,
        text2speech,
        streams: List[OutputStream],
        plot_att_ws: bool = True,
        f0min: float = 60.0,
        f0max: float = 500.0,
    ):
        self.output_dir = output_dir
        self.fs = text2speech.fs
        self.streams = streams
        self.plot_att_ws = plot_att_ws
        self._warned_matplotlib = False
        self.norm = NpyScpWriter(output_dir / "norm", output_dir / "norm" / "feats.scp")
        self.denorm = NpyScpWriter(output_dir / "denorm", output_dir / "denorm" / "feats.scp")
        # opened with the first utterance that has them: models without attention leave no empty files
        self.probs: Optional[NpyScpWriter] = None
        self.att_ws: Optional[NpyScpWriter] = None
        has_wav = self.fs and text2speech.vocoder is not None  # no vocoder (--write_wav false): no wav/
        self.wav = SoundScpWriter(output_dir / "wav", output_dir / "wav" / "wav.scp") if has_wav else None
        self.text = DatadirWriter(output_dir)
        self.stream_scps = {}
        if streams:
            (output_dir / "streams").mkdir(parents=True, exist_ok=True)
            self.stream_scps = {
                s.name: open(output_dir / "streams" / f"{s.name}.scp", "w", encoding="utf-8") for s in streams
            }
        self.pitch = None
        if any(s.name == "f0" for s in streams):
            self.pitch = self._build_pitch(text2speech, f0min, f0max)

    @staticmethod
    def _build_pitch(text2speech, f0min: float, f0max: float):

        feats_extract = text2speech.model.feats_extract
        if feats_extract is None or text2speech.vocoder is None:
            raise ConfigError("--output_streams f0 needs a waveform: the model has no feats_extract/vocoder")
        params = feats_extract.get_parameters()
        return Pitch(
            fs=params["fs"],
            n_fft=params["n_fft"],
            hop_length=params["hop_length"],
            f0min=f0min,
            f0max=f0max,
            use_continuous_f0=False,
            use_log_f0=False,
        )

    def __enter__(self) -> "InferenceWriters":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for writer in (self.norm, self.denorm, self.probs, self.att_ws, self.wav, self.text):
            if writer is not None:
                writer.close()
        for f in self.stream_scps.values():
            f.close()

    def f0(self, wav: torch.Tensor, num_frames: int) -> np.ndarray:
        """F0 ``(num_frames, 1)`` (Hz, 0 unvoiced) of ``wav`` ``(T_wav,)`` on the feature frames."""
        with torch.inference_mode():
            f0, _ = self.pitch(
                wav.float().unsqueeze(0), torch.tensor([wav.numel()]), feats_lengths=torch.tensor([num_frames])
            )
        return f0[0].cpu().numpy()

    def stream_value(self, stream: OutputStream, out: Dict[str, Any]) -> np.ndarray:
        num_frames = out["feat_gen"].size(0)
        if stream.name == "mel":
            return out["feat_gen_denorm"].float().cpu().numpy()
        if stream.name == "mel_norm":
            return out["feat_gen"].float().cpu().numpy()
        if "wav" not in out:
            raise ConfigError(f"--output_streams {stream.name} needs a waveform but no vocoder is configured")
        if stream.name == "f0":
            return self.f0(out["wav"], num_frames)
        return out["wav"].float().cpu().numpy()[:, None]

    def write(self, uid: str, out: Dict[str, Any]) -> None:
        """Write everything for utterance ``uid`` from a :class:`Text2Speech` output dict."""
        feat_gen = out["feat_gen"].float().cpu().numpy()
        self.norm[uid] = feat_gen
        self.denorm[uid] = out["feat_gen_denorm"].float().cpu().numpy()
        self.text["speech_shape"]["speech_shape"][uid] = ",".join(map(str, feat_gen.shape))
        if out.get("prob") is not None:
            if self.probs is None:
                self.probs = NpyScpWriter(self.output_dir / "probs", self.output_dir / "probs" / "probs.scp")
            self.probs[uid] = out["prob"].float().cpu().numpy()
        if out.get("att_w") is not None:
            att_w = out["att_w"].float().cpu().numpy()
            if self.att_ws is None:
                self.att_ws = NpyScpWriter(self.output_dir / "att_ws", self.output_dir / "att_ws" / "att_ws.scp")
            self.att_ws[uid] = att_w
            self.text["durations"]["durations"][uid] = " ".join(str(int(d)) for d in out["duration"])
            self.text["focus_rates"]["focus_rates"][uid] = f"{float(out['focus_rate']):.6f}"
            if self.plot_att_ws and not plot_attention(att_w, self.output_dir / "att_ws" / f"{uid}.png", uid):
                if not self._warned_matplotlib:
                    logger.info("matplotlib is not installed: attention plots are skipped")
                    self._warned_matplotlib = True
        elif out.get("duration") is not None:  # a duration model: the durations it used
            self.text["durations"]["durations"][uid] = " ".join(str(int(d)) for d in out["duration"])
        for key, name in (("pitch_denorm", "pitch"), ("energy_denorm", "energy")):
            if out.get(key) is not None:
                values = out[key].float().cpu().reshape(-1).tolist()
                self.text[name][name][uid] = " ".join(f"{v:.6g}" for v in values)
        label = out.get("emotion", {}).get("label")
        if label is not None:
            text = label if isinstance(label, str) else ",".join(f"{k}:{v:.4g}" for k, v in label.items())
            self.text["emotions"]["emotions"][uid] = text
        if self.wav is not None and "wav" in out:
            self.wav[uid] = (self.fs, out["wav"].float().cpu().numpy())
        for stream in self.streams:
            path = self.output_dir / "streams" / f"{uid}{stream.ext}"
            value = self.stream_value(stream, out)
            if value.shape[1] != stream.dim:
                raise ConfigError(
                    f"--output_streams: stream {stream.name} has dim {value.shape[1]} "
                    f"(the model's feature size), got {stream.dim}"
                )
            if stream.ext == ".wav":
                write_wav(path, self.fs, value[:, 0])
            else:
                write_raw_f32(path, value)
            self.stream_scps[stream.name].write(f"{uid} {path}\n")
