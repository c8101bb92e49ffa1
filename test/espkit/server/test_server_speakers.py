"""The synthesis server with a multi-speaker model (a packed tiny untrained FastSpeech2 with a speaker
list): /api/models lists the speakers, a request names one (default: the first), and the audio is
Text2Speech's for that speaker."""

import base64
import io
import re

import pytest
import scipy.io.wavfile
from starlette.testclient import TestClient
from tiny_fastspeech import make_tiny_fastspeech

from espkit.server.app import TTSServer, create_app
from espkit.server.audio import to_pcm16
from espkit.server.synthesis import ModelSpec, load_model
from espkit.tts.text2speech import Text2Speech
from espkit.utils.model_pack import pack_model

SPEAKERS = ["p225", "p226", "p227"]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    root = tmp_path_factory.mktemp("server_speakers")
    exp = make_tiny_fastspeech(root / "multi", "fastspeech", emotions=False, extra=["--spk_list", ",".join(SPEAKERS)])
    return pack_model(exp["config"], exp["model"], root / "multi.zip")


@pytest.fixture(scope="module")
def client(packed):
    specs = [ModelSpec("multi", str(packed))]
    with TestClient(create_app(TTSServer({"multi": load_model(specs[0])}, specs))) as c:
        yield c


def _expected(packed, text, speaker):
    tts = Text2Speech.from_pretrained(packed, seed=777, always_fix_seed=True)
    return to_pcm16(tts(text, sids=speaker)["wav"].numpy()).tolist()


def _samples(body):
    return scipy.io.wavfile.read(io.BytesIO(base64.b64decode(body["audio"])))[1].tolist()


def test_models_list_the_speakers(client):
    (model,) = client.get("/api/models").json()["models"]
    assert model["speakers"] == SPEAKERS and model["default_speaker"] == "p225"
    assert model["controls"]["speaker"] is True and model["emotions"] == []


def test_a_request_names_the_speaker(client, packed):
    body = client.post("/api/tts", json={"text": "ab ba", "speaker": "p226", "format": "json"}).json()
    assert body["speaker"] == "p226" and body["sentences"][0]["speaker"] == "p226"
    assert _samples(body) == _expected(packed, "ab ba", "p226")
    default = client.post("/api/tts", json={"text": "ab ba", "format": "json"}).json()
    assert default["speaker"] == "p225" and _samples(default) == _expected(packed, "ab ba", "p225")
    by_id = client.get("/api/tts", params={"text": "ab ba", "speaker": "2", "format": "json"}).json()
    assert by_id["speaker"] == "p227"


@pytest.mark.parametrize(
    "speaker, message",
    [("bob", "unknown speaker 'bob'; known speakers: p225, p226, p227"), (5, r"speaker id 5 out of range \[0, 3\)"),
     (1.5, "must be a speaker's name or id")],
)  # fmt: skip
def test_a_bad_speaker_is_a_400_naming_the_field(client, speaker, message):
    response = client.post("/api/tts", json={"text": "ab", "speaker": speaker})
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "speaker" and re.search(message, body["error"]), body
