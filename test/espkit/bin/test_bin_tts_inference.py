"""Text2Speech and the tts_inference CLI on a tiny trained controllable Tacotron2 (with an emotion classifier),
and the CLI's one-line errors for unusable devices, inputs, model files and output directories."""

import errno
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tiny_corpus import EMOTIONS, make_tiny_corpus, tiny_train_args
from tiny_vocoder import make_tiny_vocoder

from espkit.bin.tts_inference import OutputError, Text2Speech, check_emotion_labels, main, output_errors
from espkit.bin.tts_inference_writers import InferenceWriters, parse_output_streams
from espkit.bin.tts_train import main as train_main
from espkit.fileio.npy_scp import NpyScpReader
from espkit.fileio.rawf32 import read_raw_f32
from espkit.fileio.read_text import read_2columns_text
from espkit.fileio.sound_scp import read_wav, write_wav
from espkit.tts.emotion.emo_list import EmotionLabelConverter
from espkit.tts.text2speech import attention_durations
from espkit.tts.vocoder.gan_vocoder import GANVocoder
from espkit.utils.errors import ConfigError

HOP = 64
DECODE = dict(minlenratio=2.0, maxlenratio=4.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("infer")
    data = make_tiny_corpus(root / "data")
    extra = [
        "--max_epoch",
        "1",
        "--emo_extract",
        "reference_encoder",
        "--emo_extract_conf",
        "{conv_layers: 2, conv_chans_list: [4, 4], gru_units: 8, gst_tokens: 4, gst_heads: 2, gst_token_dim: 8}",
        "--emo_classifier",
        "linear",
    ]
    train_main(tiny_train_args(data, root / "exp", extra))
    return data, root / "exp"


@pytest.fixture(scope="module")
def tts(trained):
    _, exp = trained
    return Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", always_fix_seed=True, **DECODE)


def test_round_trip_outputs_have_consistent_shapes(tts):
    assert tts.fs == 8000 and tts.use_speech is False
    out = tts("ab ba", emo_labs="happy")
    num_frames, num_tokens = out["feat_gen"].shape[0], 5 + 1  # 5 chars + <sos/eos>
    assert out["feat_gen"].shape == out["feat_gen_denorm"].shape == (num_frames, 8)
    assert num_frames >= 2 * num_tokens - 1  # minlenratio 2 (the last step of r=2 frames may stop at its first)
    assert out["att_w"].shape == (num_frames, num_tokens) and out["prob"].shape == (num_frames,)
    assert out["duration"].shape == (num_tokens,) and int(out["duration"].sum()) == num_frames
    assert 0 < float(out["focus_rate"]) <= 1
    assert out["wav"].shape == ((num_frames - 1) * HOP,)
    assert not torch.equal(out["feat_gen"], out["feat_gen_denorm"])  # global_mvn undone
    again = tts(torch.tensor([3, 4, 2, 4, 3]), emo_labs="happy")  # same ids as "ab ba"
    assert torch.equal(again["feat_gen"], out["feat_gen"])  # always_fix_seed


def test_attention_durations_counts_argmax_frames():
    att_w = torch.tensor([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.2, 0.7, 0.1], [0.0, 0.2, 0.8]])
    durations, focus = attention_durations(att_w)
    assert durations.tolist() == [2, 1, 1]
    assert float(focus) == pytest.approx((0.9 + 0.6 + 0.7 + 0.8) / 4)


def test_emotion_as_name_id_mix_and_weights(tts):
    by_name = tts("cab", emo_labs="Sad")
    assert by_name["emotion"]["label"] == "sad"
    assert by_name["emotion"]["weights"].tolist() == [0, 0, 1, 0]
    by_id = tts("cab", emo_labs=2)
    assert by_id["emotion"]["label"] == "sad" and torch.equal(by_id["feat_gen"], by_name["feat_gen"])
    mix = tts("cab", emo_labs={"happy": 3, "sad": 1})
    assert mix["emotion"]["label"] == {"happy": 0.75, "sad": 0.25}
    assert mix["emotion"]["weights"].tolist() == [0, 0.75, 0.25, 0]
    as_string = tts("cab", emo_labs="happy:0.75,sad:0.25")
    assert torch.equal(as_string["feat_gen"], mix["feat_gen"])
    as_array = tts("cab", emo_labs=np.array([0, 0.75, 0.25, 0]))
    assert torch.allclose(as_array["feat_gen"], mix["feat_gen"])
    happy = tts("cab", emo_labs="happy")
    assert not torch.equal(happy["emo_embed"], by_name["emo_embed"])
    assert not torch.equal(mix["emo_embed"], happy["emo_embed"])


def test_unknown_or_missing_emotion_fails_listing_known_ones(tts):
    with pytest.raises(ValueError, match="unknown emotion 'joy'; known emotions: neutral, happy, sad, angry"):
        tts("ab", emo_labs="joy")
    with pytest.raises(ValueError, match="out of range"):
        tts("ab", emo_labs=7)
    with pytest.raises(ValueError, match="pass emo_labs \\(one of: neutral, happy, sad, angry.* or a reference speech"):
        tts("ab")
    with pytest.raises(ValueError, match="unknown option 'beam'"):
        tts("ab", emo_labs=0, decode_conf={"beam": 3})


def test_reference_speech_gives_posterior_and_teacher_forcing_keeps_length(tts, trained, tmp_path):
    data, _ = trained
    wav_path = read_2columns_text(data["wav.scp"])["happy_0001"]
    _, wav = read_wav(wav_path, dtype="float32")
    out = tts("ab ba", speech=wav_path)  # no emo_labs: the posterior is the mix
    posterior = out["emotion"]["posterior"]
    assert posterior.shape == (4,) and float(posterior.sum()) == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(out["emotion"]["weights"], posterior)
    assert set(out["emotion"]["label"]) <= set(EMOTIONS)
    forced = tts("ab ba", speech=torch.from_numpy(wav), emo_labs="sad", decode_conf={"use_teacher_forcing": True})
    assert forced["feat_gen"].shape == (len(wav) // HOP + 1, 8)
    assert forced["emotion"]["label"] == "sad" and "posterior" in forced["emotion"]
    write_wav(tmp_path / "16k.wav", 16000, wav)
    with pytest.raises(ValueError, match="16000 Hz but 8000 Hz is expected"):
        tts("ab", speech=tmp_path / "16k.wav", emo_labs=0)
    with pytest.raises(ValueError, match="use_teacher_forcing needs the reference speech"):
        tts("ab", emo_labs=0, decode_conf={"use_teacher_forcing": True})


def test_reference_to_a_model_that_cannot_use_it_is_an_error(trained, tmp_path):
    """A label-only model (no emotion extractor or classifier) refuses a reference instead of asking for one."""
    data, _ = trained
    exp = tmp_path / "labels_only"
    train_main(tiny_train_args(data, exp, ["--max_epoch", "1"]))
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", **DECODE)
    assert tts.model.emotion_from_reference is False
    wav_path = read_2columns_text(data["wav.scp"])["happy_0001"]
    with pytest.raises(ValueError, match="a reference speech was given, but this model cannot take an emotion from it"):
        tts("ab", speech=wav_path)
    with pytest.raises(ValueError, match="cannot take an emotion from it"):
        tts("ab", speech=wav_path, emo_labs="happy")  # the reference would be silently unused
    with pytest.raises(ValueError, match=r"pass emo_labs \(one of: .*\); it cannot take an emotion from a reference"):
        tts("ab")
    _, wav = read_wav(wav_path, dtype="float32")  # teacher forcing is a use of the speech
    forced = tts("ab ba", speech=wav, emo_labs="sad", decode_conf={"use_teacher_forcing": True})
    assert forced["feat_gen"].shape[0] == len(wav) // HOP + 1


def test_vocoder_config_sets_griffin_lim_options(trained, tmp_path):
    _, exp = trained
    conf = tmp_path / "vocoder.yaml"
    conf.write_text("griffin_lim_iters: 4\nmomentum: 0.5\n")
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", vocoder_config=conf)
    assert tts.vocoder.griffin_lim_iters == 4 and tts.vocoder.momentum == 0.5
    conf.write_text("iters: 4\n")
    with pytest.raises(ConfigError, match="unknown Griffin-Lim option.*iters.*valid: fs"):
        Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", vocoder_config=conf)


def test_output_streams_are_parsed_and_checked():
    streams = parse_output_streams("mel:80:.mel,f0:1:.f0,wav:1:.wav")
    assert [(s.name, s.dim, s.ext) for s in streams] == [("mel", 80, ".mel"), ("f0", 1, ".f0"), ("wav", 1, ".wav")]
    with pytest.raises(ConfigError, match="unknown stream 'lf0'; valid: mel, mel_norm, f0, wav"):
        parse_output_streams("lf0:1:.lf0")
    with pytest.raises(ConfigError, match="only the wav stream"):
        parse_output_streams("mel:80:.wav")


def test_cli_writes_every_output(trained, tmp_path):
    data, exp = trained
    keys = tmp_path / "keys"
    keys.write_text("happy_0001\nsad_0002\n")
    out_dir = tmp_path / "decode"
    main(
        [
            "--train_config",
            str(exp / "config.yaml"),
            "--model_file",
            str(exp / "valid.loss.best.pth"),
            "--output_dir",
            str(out_dir),
            "--key_file",
            str(keys),
            "--minlenratio",
            "2",
            "--maxlenratio",
            "4",
            "--data_path_and_name_and_type",
            f"{data['text']},text,text",
            "--data_path_and_name_and_type",
            f"{data['utt2emo']},emo_labs,text",
            "--output_streams",
            "mel:8:.mel,mel_norm:8:.nmel,f0:1:.f0,wav:1:.wav",
            "--log_level",
            "WARNING",
        ]
    )
    norm, denorm = NpyScpReader(out_dir / "norm/feats.scp"), NpyScpReader(out_dir / "denorm/feats.scp")
    assert sorted(norm.keys()) == sorted(denorm.keys()) == ["happy_0001", "sad_0002"]
    shapes = read_2columns_text(out_dir / "speech_shape/speech_shape")
    durations = read_2columns_text(out_dir / "durations/durations")
    focus = read_2columns_text(out_dir / "focus_rates/focus_rates")
    assert read_2columns_text(out_dir / "emotions/emotions") == {"happy_0001": "happy", "sad_0002": "sad"}
    wavs = read_2columns_text(out_dir / "wav/wav.scp")
    for uid in ["happy_0001", "sad_0002"]:
        feats = denorm[uid]
        num_frames = feats.shape[0]
        assert feats.dtype == np.float32 and feats.shape == norm[uid].shape == (num_frames, 8)
        assert shapes[uid] == f"{num_frames},8"
        assert sum(int(d) for d in durations[uid].split()) == num_frames
        assert 0 < float(focus[uid]) <= 1
        assert np.load(out_dir / f"probs/{uid}.npy").shape == (num_frames,)
        assert np.load(out_dir / f"att_ws/{uid}.npy").shape[0] == num_frames
        assert (out_dir / f"att_ws/{uid}.png").stat().st_size > 0
        fs, wav = read_wav(wavs[uid], dtype="float32")
        assert fs == 8000 and wav.shape == ((num_frames - 1) * HOP,)
        assert np.array_equal(read_raw_f32(out_dir / f"streams/{uid}.mel", 8), feats)  # raw <f4 re-read
        assert np.array_equal(read_raw_f32(out_dir / f"streams/{uid}.nmel", 8), norm[uid])
        assert (out_dir / f"streams/{uid}.mel").stat().st_size == num_frames * 8 * 4
        f0 = read_raw_f32(out_dir / f"streams/{uid}.f0", 1)
        assert f0.shape == (num_frames, 1) and np.all(f0 >= 0)
        fs, stream_wav = read_wav(out_dir / f"streams/{uid}.wav", dtype="float32")
        assert np.array_equal(stream_wav, wav)


def test_cli_global_emotion_and_user_errors(trained, tmp_path, capsys):
    data, exp = trained
    base = [
        "--train_config",
        str(exp / "config.yaml"),
        "--model_file",
        str(exp / "valid.loss.best.pth"),
        "--data_path_and_name_and_type",
        f"{data['text']},text,text",
        "--minlenratio",
        "2",
        "--maxlenratio",
        "3",
        "--plot_att_ws",
        "false",
        "--log_level",
        "ERROR",
    ]
    keys = tmp_path / "keys"
    keys.write_text("angry_0003 extra columns are ignored\n")
    main(base + ["--output_dir", str(tmp_path / "a"), "--key_file", str(keys), "--emo_labs", "happy:0.7,neutral:0.3"])
    assert read_2columns_text(tmp_path / "a/emotions/emotions") == {"angry_0003": "neutral:0.3,happy:0.7"}
    assert not (tmp_path / "a/att_ws/angry_0003.png").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(base + ["--output_dir", str(tmp_path / "b"), "--emo_labs", "joy"])
    assert exit_info.value.code == 2
    assert "known emotions: neutral, happy, sad, angry" in capsys.readouterr().err
    keys.write_text("nobody\n")
    with pytest.raises(SystemExit):
        main(base + ["--output_dir", str(tmp_path / "c"), "--key_file", str(keys), "--emo_labs", "sad"])
    assert "1 uid(s) not in the data" in capsys.readouterr().err


def _cli_base(trained):
    data, exp = trained
    return [
        "--train_config",
        str(exp / "config.yaml"),
        "--model_file",
        str(exp / "valid.loss.best.pth"),
        "--data_path_and_name_and_type",
        f"{data['text']},text,text",
        "--minlenratio",
        "2",
        "--maxlenratio",
        "3",
        "--plot_att_ws",
        "false",
        "--log_level",
        "ERROR",
    ]


def _exit_message(capsys, cmd):
    """Run the CLI, expecting exit code 2 and no traceback; return its one ``error:`` line."""
    with pytest.raises(SystemExit) as exit_info:
        main(cmd)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]  # the others: tqdm's progress bar
    assert len(error_lines) == 1
    return error_lines[0].strip()


def test_cli_ngpu_without_cuda_is_a_clear_error(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    err = _exit_message(capsys, _cli_base(trained) + ["--output_dir", str(tmp_path / "o"), "--ngpu", "1"])
    assert err.endswith("error: --ngpu 1: CUDA is not available on this machine; use --ngpu 0 to decode on the CPU")


def test_cli_unknown_emotion_label_is_found_before_decoding(trained, tmp_path, capsys):
    data, _ = trained
    utt2emo = tmp_path / "utt2emo"
    lines = data["utt2emo"].read_text().splitlines()
    uid = lines[2].split()[0]
    lines[2] = f"{uid} joyful"
    utt2emo.write_text("\n".join(lines) + "\n")
    out_dir = tmp_path / "decode"
    err = _exit_message(
        capsys,
        _cli_base(trained)
        + ["--output_dir", str(out_dir), "--data_path_and_name_and_type", f"{utt2emo},emo_labs,text"],
    )
    assert err.endswith(
        f"error: {utt2emo}:3: uid {uid!r}: unknown emotion 'joyful'; known emotions: neutral, happy, "
        "sad, angry; nothing was decoded"
    )
    assert not out_dir.exists()  # nothing written for the earlier utterances


def test_cli_corrupt_model_file_is_one_error_line(trained, tmp_path, capsys):
    _, exp = trained
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes((exp / "valid.loss.best.pth").read_bytes()[:1000])
    cmd = _cli_base(trained) + ["--output_dir", str(tmp_path / "o"), "--model_file", str(truncated)]
    err = _exit_message(capsys, cmd)
    assert f"error: {truncated} is corrupt or truncated" in err


def test_cli_output_dir_under_a_file_is_one_error_line(trained, tmp_path, capsys):
    regular = tmp_path / "a_file"
    regular.write_text("")
    err = _exit_message(capsys, _cli_base(trained) + ["--output_dir", str(regular / "decode"), "--emo_labs", "sad"])
    assert f"error: cannot write the outputs under --output_dir {regular / 'decode'}: [Errno 20] Not a directory" in err


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        PermissionError(errno.EACCES, "Permission denied", "decode/norm/x.npy"),
    ],
)
def test_cli_write_failures_name_the_output_dir_and_utterance(trained, tmp_path, capsys, monkeypatch, error):
    def fail(self, uid, out):
        raise error

    monkeypatch.setattr(InferenceWriters, "write", fail)
    out_dir = tmp_path / "decode"
    err = _exit_message(capsys, _cli_base(trained) + ["--output_dir", str(out_dir), "--emo_labs", "sad"])
    assert f"error: cannot write the outputs of 'neutral_0000' under --output_dir {out_dir}: {error}" in err


def test_cli_failure_to_close_the_outputs_is_reported(trained, tmp_path, capsys, monkeypatch):
    def fail(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(InferenceWriters, "close", fail)
    out_dir = tmp_path / "decode"
    err = _exit_message(capsys, _cli_base(trained) + ["--output_dir", str(out_dir), "--emo_labs", "sad"])
    assert err.endswith(
        f"error: cannot write the outputs under --output_dir {out_dir}: [Errno 28] No space left on device"
    )


def test_output_errors_keep_the_cause():
    with pytest.raises(
        OutputError, match="cannot write the outputs of 'u1' under --output_dir out: .*Errno 30"
    ) as info:
        with output_errors("out", "u1"):
            raise OSError(errno.EROFS, "Read-only file system", "out/wav")
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == errno.EROFS
    with output_errors("out"):
        value = 1  # no error: nothing raised
    assert value == 1


def test_check_emotion_labels_counts_bad_lines_and_models_without_emotions(tmp_path):
    utt2emo = tmp_path / "utt2emo"
    utt2emo.write_text("u1 happy\n\nu2 glad\nu3 Sad\nu4 bored\n")
    with pytest.raises(
        ConfigError,
        match=f"^{utt2emo}:3: uid 'u2': unknown emotion 'glad'; known emotions: "
        r"neutral, happy, sad, angry \(2 line\(s\) in all\); nothing was decoded$",
    ):
        check_emotion_labels(utt2emo, EmotionLabelConverter(EMOTIONS))
    utt2emo.write_text("u1 happy\nu3 Sad\n")
    check_emotion_labels(utt2emo, EmotionLabelConverter(EMOTIONS))  # known labels, any case: no error
    with pytest.raises(
        ConfigError, match=f"{utt2emo}:1: uid 'u1' has emotion label 'happy' but the model has no emotion list"
    ):
        check_emotion_labels(utt2emo, None)


# --- a trained vocoder (tiny, random weights: how it is used, not what it sounds like) -----------------
@pytest.fixture(scope="module")
def vocoder(trained, tmp_path_factory):
    """``(config.yaml, weights)`` of a tiny HiFi-GAN on the TTS model's features and statistics."""
    _, exp = trained
    stats = yaml.safe_load((exp / "config.yaml").read_text())["normalize_conf"]["stats_file"]
    return make_tiny_vocoder(tmp_path_factory.mktemp("vocoder") / "exp", stats_file=Path(stats))


def test_trained_vocoder_makes_a_waveform_of_frames_times_hop(tts, trained, vocoder):
    _, exp = trained
    config, weights = vocoder
    before = torch.get_rng_state()
    with_vocoder = Text2Speech(
        exp / "config.yaml", exp / "valid.loss.best.pth", vocoder_file=weights, always_fix_seed=True, **DECODE
    )
    assert torch.equal(torch.get_rng_state(), before)  # the vocoder's initial weights moved no global state
    assert isinstance(with_vocoder.vocoder, GANVocoder) and with_vocoder.fs == 8000
    assert with_vocoder.vocoder_file == str(weights)
    out = with_vocoder("ab ba", emo_labs="happy")
    griffin_lim = tts("ab ba", emo_labs="happy")  # the same seed: the same features, another waveform
    assert torch.equal(out["feat_gen"], griffin_lim["feat_gen"])
    num_frames = out["feat_gen"].shape[0]
    assert out["wav"].shape == (num_frames * HOP,) and griffin_lim["wav"].shape == ((num_frames - 1) * HOP,)
    assert float(out["wav"].abs().max()) > 0
    expected = with_vocoder.vocoder.model.inference(out["feat_gen_denorm"])["wav"]  # un-normalised features in
    assert torch.allclose(out["wav"], expected)
    assert with_vocoder.last_timing["vocoder_s"] > 0
    explicit = Text2Speech(  # the config beside the weights is the default
        exp / "config.yaml", exp / "valid.loss.best.pth", vocoder_file=weights, vocoder_config=config, **DECODE
    )
    assert torch.equal(
        explicit.vocoder.model.generator.input_conv.weight, with_vocoder.vocoder.model.generator.input_conv.weight
    )


def test_vocoder_trained_on_other_features_is_one_error_naming_both(trained, tmp_path):
    _, exp = trained
    _, weights = make_tiny_vocoder(tmp_path / "other", feats={"n_mels": 10, "fmax": 3000})
    with pytest.raises(ConfigError) as info:
        Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", vocoder_file=weights)
    message = str(info.value)
    assert "\n" not in message and str(weights) in message and str(exp / "config.yaml") in message
    assert "n_mels 8 vs 10, fmax 4000 vs 3000 (TTS vs vocoder)" in message


def test_vocoder_and_tts_files_given_in_each_others_place_are_one_line_errors(trained, vocoder, tmp_path):
    _, exp = trained
    tts_config, tts_weights = exp / "config.yaml", exp / "valid.loss.best.pth"
    config, weights = vocoder
    cases = [
        (dict(train_config=config, model_file=weights), f"{config} is a vocoder config"),
        (dict(train_config=tts_config, model_file=weights), f"{weights} holds a vocoder's weights"),
        (dict(vocoder_file=tts_weights), f"{tts_weights} holds a TTS \\(acoustic\\) model's weights"),
        (dict(vocoder_file=weights, vocoder_config=tts_config), f"{tts_config} is a tts config"),
        (dict(vocoder_config=config), "is a trained vocoder's config.yaml .* but no vocoder_file was given"),
    ]
    for kwargs, expected in cases:
        kwargs = {"train_config": tts_config, "model_file": tts_weights, **kwargs}
        with pytest.raises(ConfigError, match=expected) as info:
            Text2Speech(**kwargs)
        assert "\n" not in str(info.value)
    griffin_lim = tmp_path / "griffin_lim.yaml"
    griffin_lim.write_text("griffin_lim_iters: 4\n")
    with pytest.raises(ConfigError, match="has no `generator` key"):
        Text2Speech(tts_config, tts_weights, vocoder_file=weights, vocoder_config=griffin_lim)


def test_cli_vocoder_file_writes_the_vocoders_wavs(trained, vocoder, tmp_path):
    data, _ = trained
    _, weights = vocoder
    out_dir = tmp_path / "decode"
    keys = tmp_path / "keys"
    keys.write_text("happy_0001\n")
    main(
        _cli_base(trained)
        + ["--output_dir", str(out_dir), "--key_file", str(keys), "--emo_labs", "sad", "--vocoder_file", str(weights)]
    )
    num_frames = NpyScpReader(out_dir / "denorm/feats.scp")["happy_0001"].shape[0]
    fs, wav = read_wav(read_2columns_text(out_dir / "wav/wav.scp")["happy_0001"], dtype="float32")
    assert fs == 8000 and wav.shape == (num_frames * HOP,)


def test_cli_teacher_forcing_writes_durations_for_fastspeech_without_waveforms(trained, tmp_path):
    """Teacher durations (tts.sh --teacher_dumpdir): T_text + 1 per utterance, summing to the reference's
    frame count (r = 2 folded back into frames), and --write_wav false runs no vocoder."""
    data, exp = trained
    out_dir = tmp_path / "teacher"
    main(
        [
            *_cli_base(trained),
            "--output_dir",
            str(out_dir),
            "--data_path_and_name_and_type",
            f"{data['wav.scp']},speech,sound",
            "--data_path_and_name_and_type",
            f"{data['utt2emo']},emo_labs,text",
            "--use_teacher_forcing",
            "true",
            "--write_wav",
            "false",
        ]
    )
    assert yaml.safe_load((exp / "config.yaml").read_text())["tts_conf"]["reduction_factor"] == 2
    durations = read_2columns_text(out_dir / "durations/durations")
    focus = read_2columns_text(out_dir / "focus_rates/focus_rates")
    texts = read_2columns_text(data["text"])
    assert sorted(durations) == sorted(focus) == sorted(texts)
    wavs = read_2columns_text(data["wav.scp"])
    for uid, line in durations.items():
        values = [int(d) for d in line.split()]
        _, wav = read_wav(wavs[uid], dtype="float32")
        assert len(values) == len(texts[uid]) + 1  # char tokens (spaces are <space>) + <sos/eos>
        assert sum(values) == len(wav) // HOP + 1 and min(values) >= 0
        assert 0 < float(focus[uid]) <= 1
    assert not (out_dir / "wav").exists() and not list((out_dir / "att_ws").glob("*.png"))


def test_weights_without_train_config_is_refused_naming_the_option(trained, tmp_path, capsys):
    # a .pth is itself a zip archive: it must still be told apart from a packed model
    data, exp = trained
    args = ["--model_file", str(exp / "valid.loss.best.pth"), "--output_dir", str(tmp_path / "out")]
    args += ["--data_path_and_name_and_type", f"{data['text']},text,text"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "--train_config is required unless --model_file is a packed model .zip" in capsys.readouterr().err
