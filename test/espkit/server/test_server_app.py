"""The synthesis server's HTTP API through Starlette's test client, on packed tiny untrained models:
each endpoint, each 4xx, the 503 of a full queue, the 504 of a slow synthesis, streaming, and WAVs
equal to Text2Speech's for the same seed."""

import asyncio
import base64
import io
import json
import logging
import re
import threading

import numpy as np
import pytest
import scipy.io.wavfile
from starlette.testclient import TestClient
from tiny_corpus import EMOTIONS
from tiny_server import TACOTRON2_DECODE, make_packed_models

from espkit.fileio.sound_scp import wav_bytes
from espkit.server import synthesis
from espkit.server.api_request import Limits
from espkit.server.app import TTSServer, create_app
from espkit.server.audio import STREAM_SIZE, to_pcm16
from espkit.server.synthesis import ModelSpec, load_model
from espkit.tts.text2speech import Text2Speech

FS = 8000


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    return make_packed_models(tmp_path_factory.mktemp("server_models"))


@pytest.fixture(scope="module")
def specs(zips):
    return [ModelSpec("fs2", str(zips["fs2"])), ModelSpec("taco", str(zips["taco"]), decode_options=TACOTRON2_DECODE)]


@pytest.fixture(scope="module")
def models(specs):
    return {spec.name: load_model(spec) for spec in specs}


def _client(models, specs, **kwargs):
    return TestClient(create_app(TTSServer(models, specs, **kwargs)))


@pytest.fixture(scope="module")
def client(models, specs):
    with _client(models, specs, limits=Limits(max_text_chars=200, max_body_bytes=4096, max_upload_bytes=20000)) as c:
        yield c


def _reference_t2s(zips, name, text, seed=777, **kwargs):
    """Text2Speech's own output for ``text`` with ``seed`` (``always_fix_seed``: every call starts from it)."""
    options = TACOTRON2_DECODE if name == "taco" else {}
    init = kwargs.pop("init", {})
    tts = Text2Speech.from_pretrained(zips[name], seed=seed, always_fix_seed=True, **options, **init)
    return tts(text, **kwargs)


def _wav(content):
    """``(fs, int16 samples)`` of WAV bytes, read by scipy (an independent reader)."""
    fs, samples = scipy.io.wavfile.read(io.BytesIO(content))
    return fs, samples


def _riff(content):
    assert content[:4] == b"RIFF" and content[8:12] == b"WAVE" and content[12:16] == b"fmt "
    tag, channels, fs, _, _, bits = np.frombuffer(content[20:36], dtype="<u2,<u2,<u4,<u4,<u2,<u2")[0]
    assert (tag, channels, bits) == (1, 1, 16)
    return int(fs), int.from_bytes(content[40:44], "little")


def _wav_bytes(fs, samples):
    return wav_bytes(fs, np.asarray(samples), subtype="FLOAT" if np.asarray(samples).dtype == np.float32 else "PCM_16")


# --- endpoints -------------------------------------------------------------------------------------
def test_healthz_and_models_describe_what_each_model_can_control(client):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "models": ["fs2", "taco"], "workers": 1, "requests": 0, "capacity": 5}
    body = client.get("/api/models").json()
    fs2, taco = body["models"]
    assert fs2["name"] == "fs2" and fs2["architecture"] == "fastspeech2" and fs2["sampling_rate"] == FS
    assert fs2["emotions"] == EMOTIONS and fs2["default_emotion"] == "neutral" and fs2["vocoder"] == "trained"
    assert fs2["controls"] == {
        "speed": True,
        "pitch_scale": True,
        "energy_scale": True,
        "pitch_shift_cents": True,
        "emotion": True,
        "reference": False,
        "needs_reference": False,
        "speaker": False,
    }
    assert fs2["speakers"] == [] and fs2["default_speaker"] is None
    assert taco["architecture"] == "tacotron2_controllable" and taco["vocoder"] == "griffin_lim"
    assert taco["controls"]["speed"] is False and taco["controls"]["pitch_scale"] is False
    assert taco["controls"]["reference"] is True and taco["controls"]["emotion"] is True
    assert body["limits"]["max_text_chars"] == 200


def test_openapi_describes_the_api_and_the_page_is_served(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {"/healthz", "/api/models", "/api/tts"}
    assert set(schema["paths"]["/api/tts"]) == {"get", "post"}
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="synthesize"' in page.text and "/static/app.js" in page.text
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/nothing"])
def test_no_path_from_a_request_reaches_outside_the_page_files(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


# --- audio equal to Text2Speech's --------------------------------------------------------------------
def test_wav_is_valid_and_equals_text2speech_for_the_same_seed(client, zips):
    response = client.post("/api/tts", json={"text": "ab ba cab", "emotion": "happy", "seed": 5})
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    fs, data_size = _riff(response.content)
    assert fs == FS and data_size == len(response.content) - 44  # one sentence: exact sizes
    _, samples = _wav(response.content)
    expected = _reference_t2s(zips, "fs2", "ab ba cab", seed=5, emo_labs="happy")["wav"].numpy()
    assert samples.dtype == np.int16 and len(samples) == len(expected) > 0
    np.testing.assert_array_equal(samples, to_pcm16(expected))
    again = client.get("/api/tts", params={"text": "ab ba cab", "emotion": "happy", "seed": "5"})
    assert again.status_code == 200 and again.content == response.content  # GET for <audio src>


def test_controls_and_mix_are_those_of_text2speech(client, zips):
    fields = {"text": "cab ab", "emotion": {"happy": 0.7, "neutral": 0.3}, "speed": 0.5, "pitch_scale": 1.5}
    response = client.post("/api/tts", json=fields)
    assert response.status_code == 200
    expected = _reference_t2s(
        zips, "fs2", "cab ab", emo_labs={"happy": 0.7, "neutral": 0.3}, init=dict(alpha=2.0, pitch_scale=1.5)
    )
    np.testing.assert_array_equal(_wav(response.content)[1], to_pcm16(expected["wav"].numpy()))
    query = client.get("/api/tts", params={"text": "cab ab", "emotion": "happy:0.7,neutral:0.3", "speed": "0.5"})
    assert query.status_code == 200
    slower = _reference_t2s(zips, "fs2", "cab ab", emo_labs="happy:0.7,neutral:0.3", init=dict(alpha=2.0))
    np.testing.assert_array_equal(_wav(query.content)[1], to_pcm16(slower["wav"].numpy()))


def test_json_format_carries_audio_features_durations_and_attention(client, zips):
    body = client.post("/api/tts", json={"text": "ab ba", "model": "taco", "format": "json", "seed": 3}).json()
    expected = _reference_t2s(zips, "taco", "ab ba", seed=3, emo_labs="neutral")
    assert body["model"] == "taco" and body["sampling_rate"] == FS and body["seed"] == 3
    fs, samples = _wav(base64.b64decode(body["audio"]))
    np.testing.assert_array_equal(samples, to_pcm16(expected["wav"].numpy()))
    assert body["num_samples"] == len(samples) and body["duration_s"] == pytest.approx(len(samples) / FS)
    (sentence,) = body["sentences"]
    assert sentence["tokens"] == ["a", "b", "<space>", "b", "a", "<sos/eos>"]
    assert sentence["duration"] == expected["duration"].tolist()
    features = np.array(sentence["features"])
    assert features.shape == tuple(expected["feat_gen_denorm"].shape)
    np.testing.assert_allclose(features, expected["feat_gen_denorm"].numpy(), atol=0.006)
    assert np.array(sentence["attention"]).shape == tuple(expected["att_w"].shape)
    assert body["emotion"]["label"] == "neutral" and body["emotion"]["weights"] == [1.0, 0.0, 0.0, 0.0]
    fs2 = client.post("/api/tts", json={"text": "ab", "format": "json"}).json()
    assert fs2["sentences"][0]["attention"] is None and len(fs2["sentences"][0]["duration"]) == 3


# --- streaming ---------------------------------------------------------------------------------------
def test_long_text_streams_sentence_by_sentence_from_seed_plus_index(client, zips):
    sentences = ["ab ba.", "cab!", "bca cb?", "a b c;", "cc aa"]
    response = client.post("/api/tts", json={"text": " ".join(sentences), "seed": 10})
    assert response.status_code == 200 and response.headers["x-sentences"] == "5"
    fs, data_size = _riff(response.content)
    assert fs == FS and data_size == STREAM_SIZE - 36  # the length was not known when the header was sent
    samples = np.frombuffer(response.content[44:], dtype="<i2")
    tts = Text2Speech.from_pretrained(zips["fs2"])
    expected = []
    for index, sentence in enumerate(sentences):
        tts.random_state.reseed(10 + index)
        expected.append(to_pcm16(tts(sentence, emo_labs="neutral")["wav"].numpy()))
    np.testing.assert_array_equal(samples, np.concatenate(expected))
    whole = client.post("/api/tts", json={"text": " ".join(sentences), "seed": 10, "stream": False})
    assert _riff(whole.content)[1] == len(whole.content) - 44
    assert whole.content[44:] == response.content[44:]


def test_first_audio_is_sent_before_the_later_sentences_are_synthesised(models, specs, monkeypatch):
    done = []
    original = synthesis.synthesize_sentence

    def counting(job):
        result = original(job)
        done.append(job.text)
        return result

    monkeypatch.setattr(synthesis, "synthesize_sentence", counting)
    app = create_app(TTSServer(models, specs))
    sent = []
    body = json.dumps({"text": "ab. ba. cab. bca. cc."}).encode()

    requests = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():  # the body once, then no disconnect until the response is done
        if requests:
            return requests.pop()
        await asyncio.Event().wait()

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append((len(done), message["body"]))

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/tts",
        "raw_path": b"/api/tts",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "app": app,
    }
    with TestClient(app) as c:  # starts the workers (lifespan); the request is sent straight to the app
        c.portal.call(app, scope, receive, send)
    assert [done_before for done_before, _ in sent] == [1, 2, 3, 4, 5]  # one sentence synthesised per chunk
    assert sent[0][1][:4] == b"RIFF" and len(sent[0][1]) > 44  # the first chunk already holds audio


def test_ndjson_streams_one_line_per_sentence_then_done(client):
    response = client.get("/api/tts", params={"text": "ab ba. cab", "format": "ndjson", "model": "taco"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line.get("index") for line in lines] == [0, 1, None]
    assert lines[0]["count"] == 2 and lines[0]["text"] == "ab ba." and lines[1]["text"] == "cab"
    pcm = [np.frombuffer(base64.b64decode(line["pcm"]), dtype="<i2") for line in lines[:2]]
    assert [len(p) for p in pcm] == [line["num_samples"] for line in lines[:2]]
    assert lines[2] == {"done": True, "num_samples": sum(len(p) for p in pcm), "duration_s": sum(map(len, pcm)) / FS}
    assert np.array(lines[0]["attention"]).shape[1] == len(lines[0]["tokens"])


# --- reference upload --------------------------------------------------------------------------------
def _upload(client, fields, wav_bytes, name="reference"):
    return client.post("/api/tts", data=fields, files={name: ("ref.wav", wav_bytes, "audio/wav")})


def test_reference_upload_sets_the_emotion_as_text2speech_does(client, zips):
    rng = np.random.default_rng(0)
    reference = (0.3 * np.sin(2 * np.pi * 150 * np.arange(4000) / FS) + 0.01 * rng.standard_normal(4000)).astype(
        np.float32
    )
    response = _upload(client, {"model": "taco", "text": "ab ba", "format": "json"}, _wav_bytes(FS, reference))
    assert response.status_code == 200, response.text
    body = response.json()
    expected = _reference_t2s(zips, "taco", "ab ba", speech=reference)
    posterior = [round(float(v), 4) for v in expected["emotion"]["posterior"]]
    assert body["emotion"]["posterior"] == posterior and body["emotion"]["weights"] == posterior
    np.testing.assert_array_equal(_wav(base64.b64decode(body["audio"]))[1], to_pcm16(expected["wav"].numpy()))
    as_int16 = _upload(client, {"model": "taco", "text": "ab ba"}, _wav_bytes(FS, to_pcm16(reference)))
    assert as_int16.status_code == 200 and as_int16.headers["content-type"] == "audio/wav"


# --- 4xx -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, status, field, message",
    [
        ({"txt": "ab"}, 400, "txt", "unknown field; valid: model, text"),
        ({"emotion": "happy"}, 400, "text", "required: a non-empty string"),
        ({"text": "  \n "}, 400, "text", "required"),
        ({"text": 3}, 400, "text", "required"),
        ({"text": "a" * 201}, 400, "text", "201 characters is over the limit of 200"),
        ({"text": "ab", "model": "nope"}, 404, "model", "no model 'nope'; served: fs2, taco"),
        ({"text": "ab", "format": "mp3"}, 400, "format", "must be one of wav, json, ndjson"),
        ({"text": "ab", "format": "json", "stream": True}, 400, "stream", "format json is one document"),
        ({"text": "ab", "stream": "yes"}, 400, "stream", "must be true or false"),
        ({"text": "ab", "emotion": "joyful"}, 400, "emotion", "joyful.*neutral, happy, sad, angry"),
        ({"text": "ab", "emotion": {"happy": -1}}, 400, "emotion", ">= 0"),
        ({"text": "ab", "emotion": 2}, 400, "emotion", "must be a name or a {name: weight} mix"),
        ({"text": "ab", "speed": 0}, 400, "speed", r"must be in \[0.25, 4\], got 0"),
        ({"text": "ab", "speed": True}, 400, "speed", "must be a finite number"),
        ({"text": "ab", "pitch_scale": "high"}, 400, "pitch_scale", "must be a finite number"),
        ({"text": "ab", "model": "taco", "speed": 1.2}, 400, "speed", "no duration predictor.*models that can: fs2"),
        ({"text": "ab", "model": "taco", "energy_scale": 1.2}, 400, "energy_scale", "no energy predictor"),
        ({"text": "ab", "model": "taco", "pitch_shift_cents": 100}, 400, "pitch_shift_cents", "log-F0"),
        ({"text": "ab", "speaker": "p225"}, 400, "speaker", r"has one speaker \(no speaker ids\)"),
        ({"text": "ab", "seed": -1}, 400, "seed", r"integer in \[0, 2\*\*63 - 1\]"),
        ({"text": "ab", "seed": 1.5}, 400, "seed", "integer"),
    ],
)
def test_each_bad_field_is_a_4xx_naming_it(client, fields, status, field, message):
    response = client.post("/api/tts", json=fields)
    assert response.status_code == status
    body = response.json()
    assert body["field"] == field
    assert body["error"].startswith(f"{field}: ")
    assert re.search(message, body["error"]), body["error"]


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"text": "ab", "speed": "fast"}, "speed", "must be a number, got 'fast'"),
        ({"text": "ab", "seed": "x"}, "seed", "must be an integer, got 'x'"),
        ({"text": "ab", "emotion": "happy:x"}, "emotion", "happy:x"),
        ({"text": "ab", "stream": "maybe"}, "stream", "true or false"),
    ],
)
def test_query_string_values_are_checked_too(client, params, field, message):
    response = client.get("/api/tts", params=params)
    assert response.status_code == 400 and response.json()["field"] == field
    assert message in response.json()["error"]


def test_bodies_that_cannot_be_read_are_4xx(client):
    not_json = client.post("/api/tts", content=b"{text: ab", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    array = client.post("/api/tts", json=["ab"])
    assert array.status_code == 400 and "must be an object" in array.json()["error"]
    text = client.post("/api/tts", content=b"ab", headers={"content-type": "text/plain"})
    assert text.status_code == 415 and "not text/plain" in text.json()["error"]
    big = client.post("/api/tts", json={"text": "ab", "pad": "x" * 5000})
    assert big.status_code == 413 and "over the limit of 4096" in big.json()["error"]
    assert client.put("/api/tts", json={"text": "ab"}).status_code == 405


def test_uploads_that_cannot_be_used_are_4xx_naming_the_reference(client):
    good = _wav_bytes(FS, np.zeros(800, np.float32))
    cases = [
        ({"model": "fs2"}, good, 400, "cannot take an emotion from a reference"),
        ({"model": "taco", "emotion": "sad"}, good, 400, "give an emotion or a reference, not both"),
        ({"model": "taco"}, _wav_bytes(16000, np.zeros(800, np.float32)), 400, "16000 Hz but the model takes 8000"),
        ({"model": "taco"}, _wav_bytes(FS, np.zeros((800, 2), np.float32)), 400, "must be mono, got 2 channels"),
        ({"model": "taco"}, _wav_bytes(FS, np.zeros(0, np.float32)), 400, "holds no samples"),
        ({"model": "taco"}, b"ID3 not a wav at all", 415, "cannot read as audio"),
        ({"model": "taco"}, _wav_bytes(FS, np.zeros(6000, np.float32)), 413, "over the limit of 20000"),
    ]
    for fields, data, status, message in cases:
        response = _upload(client, {"text": "ab", **fields}, data)
        assert response.status_code == status, (fields, response.text)
        body = response.json()
        assert body["field"] == ("emotion" if "emotion" in fields else "reference")
        assert message in body["error"]
    other_file = _upload(client, {"model": "taco", "text": "ab"}, good, name="speech")
    assert other_file.status_code == 400 and other_file.json()["field"] == "speech"
    too_big = client.post(
        "/api/tts", data={"text": "ab"}, files={"reference": ("r.wav", b"0" * 100_000, "audio/wav")}
    )  # over the upload limit with the form's overhead: refused before it is parsed
    assert too_big.status_code == 413 and "over the limit" in too_big.json()["error"]


def test_reference_is_too_long_in_seconds(models, specs):
    with _client(models, specs, limits=Limits(max_reference_s=0.5)) as c:
        response = _upload(c, {"model": "taco", "text": "ab"}, _wav_bytes(FS, np.zeros(8000, np.float32)))
    assert response.status_code == 400 and "1.0 s is longer than the limit of 0.5 s" in response.json()["error"]


# --- the queue bound and the time limit ------------------------------------------------------------------
@pytest.fixture
def blocked(monkeypatch):
    """Synthesis waits until the returned event is set."""
    gate = threading.Event()
    original = synthesis.synthesize_sentence

    def waiting(job):
        gate.wait(30)
        return original(job)

    monkeypatch.setattr(synthesis, "synthesize_sentence", waiting)
    yield gate
    gate.set()


def _wait_for(predicate, timeout_s=10.0):
    event = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return
        event.wait(0.01)
    raise AssertionError("condition not reached")


def test_requests_past_the_queue_bound_are_503_and_the_bound_frees_again(models, specs, blocked):
    server = TTSServer(models, specs, num_workers=1, max_queue=1)
    with TestClient(create_app(server)) as c:
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(c.post("/api/tts", json={"text": "ab"}))) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        _wait_for(lambda: server.pool.held == 2)  # one running, one queued
        full = c.post("/api/tts", json={"text": "ab"})
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
        assert full.json() == {
            "error": "the server is busy: 2 requests running or queued (num_workers 1 + max_queue 1); retry later",
            "field": None,
        }
        assert c.get("/healthz").json()["requests"] == 2  # the page and health stay up
        blocked.set()
        for thread in threads:
            thread.join(30)
        assert [r.status_code for r in results] == [200, 200]
        _wait_for(lambda: server.pool.held == 0)
        assert c.post("/api/tts", json={"text": "ab"}).status_code == 200


def test_synthesis_past_the_time_limit_is_504_and_keeps_its_slot_until_done(models, specs, blocked):
    server = TTSServer(models, specs, limits=Limits(timeout_s=0.2))
    with TestClient(create_app(server)) as c:
        response = c.post("/api/tts", json={"text": "ab"})
        assert response.status_code == 504
        assert response.json()["error"] == "synthesis took longer than the limit of 0.2 s"
        assert server.pool.held == 1  # the worker is still at it: its slot is not handed out again
        blocked.set()
        _wait_for(lambda: server.pool.held == 0)


def test_each_request_is_logged_on_one_line_with_its_timing(client, caplog):
    with caplog.at_level(logging.INFO, logger="espkit.server.access"):
        client.post("/api/tts", json={"text": "ab"})
        client.post("/api/tts", json={"text": ""})
    lines = [r.getMessage() for r in caplog.records if r.name == "espkit.server.access"]
    assert len(lines) == 2
    assert lines[0].startswith("POST /api/tts 200 ") and " ms (first byte " in lines[0]
    assert lines[1].startswith("POST /api/tts 400 ")


# --- worker processes ------------------------------------------------------------------------------------
def test_worker_processes_give_the_thread_workers_audio(models, specs, client):
    fields = {"text": "ab ba. cab", "seed": 9, "stream": False, "emotion": "sad"}
    with _client(models, specs, num_workers=2) as c:
        assert c.get("/healthz").json()["workers"] == 2
        response = c.post("/api/tts", json=fields)
    assert response.status_code == 200
    assert response.content == client.post("/api/tts", json=fields).content
