"""Text2Speech import, load and real-time factor of one toolkit (ESPnet2 or espkit), same protocol for both.

    <toolkit's python> infer_bench.py --toolkit espnet|espkit --train_config exp/config.yaml \
        --model_file exp/train.loss.ave.pth --vocoder_config vocoder_griffin_lim32.yaml \
        --text corpus/data/eval/text --out infer.json [--passes 2]

Standard library + the toolkit only. Times, in one process:
- ``import_s``: ``import torch`` + the toolkit's ``Text2Speech`` module (``espnet2.bin.tts_inference`` /
  ``espkit.tts.text2speech``), from a process that has imported nothing else;
- ``load_s``: ``Text2Speech(train_config, model_file, vocoder_config=..., threshold=0.5, minlenratio=0,
  maxlenratio=10, use_att_constraint=False)`` -- config, model build, weights, Griffin-Lim;
- per pass over the sentences, per sentence: ``synth_s`` (one call text -> waveform), ``vocoder_s`` (the
  vocoder call inside it, timed by a pass-through wrapper around ``tts.vocoder``, the same for both
  toolkits), audio seconds and generated frames. The RNG is reset to seed 0 before every sentence
  (prenet dropout stays on at inference in both toolkits): the global one for ESPnet2, espkit's own
  stream by ``seed=0, always_fix_seed=True`` (its Text2Speech leaves the global RNG alone). espkit's
  host allocator is tuned as its ``tts_inference`` command does (``keep_freed_memory``).
RTF = sum(time) / sum(audio seconds); acoustic = synth - vocoder. Pass 1 is cold, pass 2 warm.
"""

import time

_T0 = time.perf_counter()
import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import torch  # noqa: E402

_T_TORCH = time.perf_counter()


class TimedVocoder:
    """Calls the wrapped vocoder and adds the seconds it took to ``elapsed``; other attributes pass through."""

    def __init__(self, vocoder):
        self.__dict__["_vocoder"] = vocoder
        self.__dict__["elapsed"] = 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self._vocoder(*args, **kwargs)
        self.__dict__["elapsed"] += time.perf_counter() - start
        return out

    def __getattr__(self, name):
        return getattr(self._vocoder, name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--toolkit", choices=["espnet", "espkit"], required=True)
    p.add_argument("--train_config", required=True)
    p.add_argument("--model_file", required=True)
    p.add_argument("--vocoder_config", required=True)
    p.add_argument("--text", required=True, help="Kaldi text file: 'uid sentence' lines")
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    start = time.perf_counter()
    if a.toolkit == "espnet":
        from espnet2.bin.tts_inference import Text2Speech
    else:
        from espkit.tts.text2speech import Text2Speech
    import numpy as np

    import_module_s = time.perf_counter() - start
    import_s = _T_TORCH - _T0 + import_module_s

    own_seed = {}
    if a.toolkit == "espkit":
        from espkit.torch_utils.host_allocator import keep_freed_memory

        keep_freed_memory()
        own_seed = dict(seed=0, always_fix_seed=True)
    start = time.perf_counter()
    tts = Text2Speech(
        train_config=a.train_config,
        model_file=a.model_file,
        vocoder_config=a.vocoder_config,
        threshold=0.5,
        minlenratio=0.0,
        maxlenratio=10.0,
        use_att_constraint=False,
        device="cpu",
        **own_seed,
    )
    load_s = time.perf_counter() - start
    tts.vocoder = TimedVocoder(tts.vocoder)
    fs = tts.fs

    sentences = []
    with open(a.text, encoding="utf-8") as f:
        for line in f:
            uid, _, text = line.strip().partition(" ")
            if uid:
                sentences.append((uid, text))

    passes = []
    for _ in range(a.passes):
        rows = []
        for uid, text in sentences:
            torch.manual_seed(0)
            np.random.seed(0)
            random.seed(0)
            before = tts.vocoder.elapsed
            start = time.perf_counter()
            out = tts(text)
            synth_s = time.perf_counter() - start
            vocoder_s = tts.vocoder.elapsed - before
            rows.append(
                dict(
                    uid=uid,
                    synth_s=synth_s,
                    vocoder_s=vocoder_s,
                    audio_s=out["wav"].numel() / fs,
                    frames=int(out["feat_gen"].shape[0]),
                )
            )
        audio = sum(r["audio_s"] for r in rows)
        synth = sum(r["synth_s"] for r in rows)
        voc = sum(r["vocoder_s"] for r in rows)
        passes.append(
            dict(
                rtf=synth / audio,
                rtf_acoustic=(synth - voc) / audio,
                rtf_vocoder=voc / audio,
                audio_s=audio,
                frames=sum(r["frames"] for r in rows),
                ms_per_frame=1000 * synth / sum(r["frames"] for r in rows),
                sentences=rows,
            )
        )
    res = dict(
        toolkit=a.toolkit,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        import_s=import_s,
        import_torch_s=_T_TORCH - _T0,
        import_module_s=import_module_s,
        load_s=load_s,
        fs=fs,
        maxrss_MiB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        passes=passes,
    )
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(
        json.dumps(
            {k: v for k, v in res.items() if k != "passes"}
            | {f"pass{i + 1}_rtf": round(q["rtf"], 4) for i, q in enumerate(passes)}
        )
    )


if __name__ == "__main__":
    main()
