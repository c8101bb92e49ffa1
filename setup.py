"""espkit: a compact ESPnet2-style toolkit for (emotion-controllable) text-to-speech."""

from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = (here / "espkit" / "version.txt").read_text().strip()

install_requires = [
    # torch is installed first by tools/install.sh (CPU wheel, pinned); any 2.x works.
    "torch>=2.1",
    "numpy>=1.23",
    "pyyaml>=6.0",
    "typeguard>=4.0",
    "humanfriendly>=10.0",
    "tqdm>=4.60",
    # audio input (WAV, FLAC, OGG, ...): one wheel with libsndfile bundled, about 5 MiB with cffi
    "soundfile>=0.12",
]
extras_require = {
    # soxr: resampling in the recipes' data preparation (espkit/fileio/resample.py), only where a
    # corpus is not at the configured rate. The tests use scipy.io.wavfile as an independent WAV reader.
    "recipe": ["soxr>=0.3"],
    # ruff: pinned, so that the format check means the same everywhere (tools/test.sh runs it)
    "test": ["pytest>=7.0", "scipy>=1.9", "ruff==0.17.6"],
    "plot": ["matplotlib>=3.6"],
    # the synthesis server (espkit.bin.tts_server): an ASGI framework, its server, and multipart uploads.
    # Pinned: versions this project's registries hold and its tests ran on.
    "server": ["starlette==1.10.0", "uvicorn==0.54.0", "python-multipart==0.0.34"],
    # the server's tests: Starlette's test client (httpx2) and the browser test's driver (Selenium with
    # Debian's chromium and chromium-driver, which tools/test.sh installs).
    "server-test": ["httpx2==2.16.2", "selenium==4.51.0"],
    "tensorboard": ["tensorboard>=2.10"],
    # Praat's pitch tracker, the independent reference of bench/validate_f0_tracker.py (not used by
    # espkit itself; not installed by tools/install.sh).
    "validation": ["praat-parselmouth>=0.4"],
}
extras_require["all"] = sorted({req for reqs in extras_require.values() for req in reqs})

setup(
    name="espkit",
    version=version,
    description="A compact, fast, ESPnet2-style text-to-speech toolkit with emotion control",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["espkit", "espkit.*"]),
    package_data={"espkit": ["version.txt", "server/static/*"]},
    python_requires=">=3.10",
    install_requires=install_requires,
    extras_require=extras_require,
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
