"""The synthesis page in a real browser: headless Chromium (Debian's chromium + chromedriver, driven by
Selenium) loads the page of a running ``espkit.bin.tts_server`` on 127.0.0.1, types text, sets an
emotion mix with the keyboard, clicks Synthesize, and checks the WAV the audio element got and the
pictures. A screenshot is written under the test's tmp dir (and to ``$ESPKIT_SCREENSHOT`` when set,
which is how docs/images/tts_server.png was made).

The model is a packed tiny untrained FastSpeech2 with a tiny vocoder, built here in a second; the
smoke recipe's packed zip (``egs/espeak_emo/tts1/exp/smoke/tts_train_smoke/packed/*.zip``) works the
same way (``served`` takes any zip). Without Chromium, chromedriver or Selenium this test FAILS,
saying what to install (tools/test.sh installs them): it is never skipped.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from tiny_server import make_packed_models

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TEXT = "ab ba cab. bca cb ab."
REPO = Path(__file__).resolve().parents[3]


def _need_browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:
        pytest.fail(
            f"the browser test needs Debian's chromium and chromium-driver ({', '.join(missing)} missing): "
            "tools/test.sh installs them (apt-get install chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("the browser test needs Selenium: pip install -e '.[server-test]' (tools/install.sh does)")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A running ``tts_server`` on 127.0.0.1 (its base URL) serving the packed tiny FastSpeech2."""
    root = tmp_path_factory.mktemp("browser")
    zips = make_packed_models(root / "models")
    port = _free_port()
    log = open(root / "server.log", "w")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "espkit.bin.tts_server", "--model_file", f"demo={zips['fs2']}"]
    server = subprocess.Popen(command + ["--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.poll() is not None:
                pytest.fail(f"tts_server exited with {server.returncode}: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if _get_json(f"{url}/healthz")["status"] == "ok":
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("tts_server did not answer /healthz within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(30)
        log.close()


@pytest.fixture
def browser(tmp_path):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,1300",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except Exception as e:  # noqa: BLE001 - any start failure is this test's failure, with its cause
        pytest.fail(f"headless Chromium did not start ({CHROMIUM} with {CHROMEDRIVER}): {e}")
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


# The WAV the audio element plays, read back inside the page: header fields and sizes.
READ_AUDIO = """
const done = arguments[arguments.length - 1];
const audio = document.getElementById("audio");
fetch(audio.src).then((r) => r.arrayBuffer()).then((buffer) => {
  const view = new DataView(buffer);
  const tag = (offset) => String.fromCharCode(...new Uint8Array(buffer, offset, 4));
  done({riff: tag(0), wave: tag(8), fmt: tag(12), data: tag(36), format: view.getUint16(20, true),
        channels: view.getUint16(22, true), fs: view.getUint32(24, true), bits: view.getUint16(34, true),
        dataBytes: view.getUint32(40, true), total: buffer.byteLength, type: audio.src.slice(0, 5),
        readyState: audio.readyState, duration: audio.duration});
}).catch((e) => done({error: String(e)}));
"""
# How many distinct colours a canvas shows (a picture, not a blank box).
CANVAS_COLOURS = """
const canvas = document.getElementById(arguments[0]);
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
const seen = new Set();
for (let i = 0; i < data.length; i += 4) seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
return {width: canvas.width, height: canvas.height, colours: seen.size};
"""


def test_page_synthesises_a_typed_text_with_an_emotion_mix(served, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(served + "/")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    assert Select(browser.find_element(By.ID, "model")).first_selected_option.text == "demo"
    assert browser.find_element(By.ID, "speed").is_displayed()  # FastSpeech2 shows its controls
    assert not browser.find_element(By.ID, "reference").is_displayed()  # and no reference upload

    text = browser.find_element(By.ID, "text")
    text.clear()
    text.send_keys(TEXT)
    Select(browser.find_element(By.ID, "emotion")).select_by_visible_text("mix…")
    happy = browser.find_element(By.ID, "mix-happy")
    assert happy.is_displayed()
    happy.send_keys(Keys.END)  # happy 1, the others 0
    happy.send_keys(*[Keys.ARROW_LEFT] * 30)  # happy 0.7, the rest shared by the others
    assert browser.find_element(By.ID, "mix-happy-value").text == "0.70"
    assert browser.find_element(By.ID, "mix-neutral-value").text == "0.10"
    assert browser.find_element(By.ID, "mix-sum").text == "1.00"

    browser.find_element(By.ID, "synthesize").click()
    wait.until(lambda d: d.find_element(By.ID, "audio").get_attribute("data-ready") == "true")
    assert not browser.find_element(By.ID, "error").is_displayed()
    wait.until(lambda d: d.execute_script("return document.getElementById('audio').readyState") >= 1)

    wav = browser.execute_async_script(READ_AUDIO)
    assert "error" not in wav, wav
    assert (wav["riff"], wav["wave"], wav["fmt"], wav["data"]) == ("RIFF", "WAVE", "fmt ", "data")
    assert (wav["format"], wav["channels"], wav["bits"], wav["fs"]) == (1, 1, 16, 8000)
    assert wav["type"] == "blob:" and wav["dataBytes"] == wav["total"] - 44
    # the same request straight to the API: the page's audio is the server's, sample for sample in length
    query = urllib.parse.urlencode({"text": TEXT, "emotion": "happy:0.7,neutral:0.1,sad:0.1,angry:0.1"})
    api = _get_json(f"{served}/api/tts?{query}&format=json&model=demo")
    assert wav["dataBytes"] == 2 * api["num_samples"] > 0
    assert wav["duration"] == pytest.approx(api["num_samples"] / 8000, abs=1e-3)  # the browser decoded it
    status = browser.find_element(By.ID, "status").text
    assert "s of audio" in status and "emotion: neutral 0.10, happy 0.70, sad 0.10, angry 0.10" in status

    mel = browser.execute_script(CANVAS_COLOURS, "mel")
    frames = sum(len(sentence["features"]) for sentence in api["sentences"])
    assert (mel["width"], mel["height"]) == (frames, 8) and mel["colours"] > 10
    alignment = browser.execute_script(CANVAS_COLOURS, "alignment")
    assert alignment["width"] == frames and alignment["colours"] >= 2
    assert browser.find_element(By.ID, "download").get_attribute("download") == "espkit.wav"

    screenshot = tmp_path / "tts_server_page.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    if os.environ.get("ESPKIT_SCREENSHOT"):
        shutil.copy(screenshot, os.environ["ESPKIT_SCREENSHOT"])


def test_page_shows_the_servers_refusal(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(served + "/")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    browser.find_element(By.ID, "text").clear()
    browser.find_element(By.ID, "text").send_keys("   ")
    browser.find_element(By.ID, "synthesize").click()
    wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert browser.find_element(By.ID, "error").text == "400: text: required: a non-empty string"
