"""Packed models: one zip holding ``config.yaml``, the model weights, statistics and extra files.

Archive layout (every member path is relative; ``config.yaml`` refers to the others by these
relative paths)::

    config.yaml          the training config, file paths rewritten to archive members
    meta.yaml            espkit/torch versions, date, and which member is which
    model/<name>.pth     the weights
    stats/<name>.npz     normalisation statistics (``*_conf.stats_file``)
    files/<name>         token/emotion list files and ``--option`` extras
    vocoder/config.yaml  with ``vocoder_file``: the vocoder's training config (paths rewritten too),
    vocoder/model/<name>.pth   its weights,
    vocoder/stats/<name>.npz   its normalisation statistics

``meta.yaml`` names the configs under ``yaml_files`` (``train_config``, ``vocoder_config``) and the
weights under ``files`` (``model_file``, ``vocoder_file``), as ESPnet's packed models do.

>>> pack_model("exp/tts/config.yaml", "exp/tts/valid.loss.best.pth", "exp/tts/packed.zip")  # doctest: +SKIP
>>> unpack_model("exp/tts/packed.zip", "/tmp/model")  # doctest: +SKIP
{'train_config': '/tmp/model/config.yaml', 'model_file': '/tmp/model/model/valid.loss.best.pth'}
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, Optional, Sequence

import torch
import yaml

from espkit import __version__
from espkit.fileio.atomic_file import atomic_write
from espkit.tasks.tts import TTSTask
from espkit.train.checkpoint import CheckpointError
from espkit.tts.inference_model import build_model_for_inference
from espkit.tts.vocoder.build_vocoder import build_vocoder
from espkit.tts.vocoder.gan_vocoder import default_vocoder_config
from espkit.utils.config_argparse import load_yaml_config
from espkit.utils.errors import ConfigError
from espkit.utils.model_kind import check_config_kind

logger = logging.getLogger(__name__)

#: Top-level config options that may name a file needed at inference.
FILE_OPTIONS = ("token_list", "emo_list", "non_linguistic_symbols")
CONFIG_MEMBER = "config.yaml"
META_MEMBER = "meta.yaml"
#: Where a packed vocoder's members go.
VOCODER_FOLDER = "vocoder"
VOCODER_CONFIG_MEMBER = f"{VOCODER_FOLDER}/config.yaml"


class PackError(ValueError):
    """A packed model cannot be written or read (the message names the file and the member)."""


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with every string leaf of nested dicts/lists replaced by ``fn(string)``."""
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, str):
        return fn(value)
    return value


def _files_to_pack(config: Dict[str, Any]) -> Dict[str, str]:
    """``{source path: "stats/..."|"files/..."}`` of the files that inference needs."""
    wanted: Dict[str, str] = {}
    for key, conf in config.items():
        if key.endswith("_conf") and isinstance(conf, dict) and isinstance(conf.get("stats_file"), str):
            wanted[conf["stats_file"]] = "stats"
    for key in FILE_OPTIONS:
        value = config.get(key)
        if isinstance(value, str) and Path(value).is_file():
            wanted[value] = "files"
    return wanted


def _unique_member(folder: str, path: Path, taken: set) -> str:
    name = f"{folder}/{path.name}"
    index = 1
    while name in taken:
        name = f"{folder}/{index}_{path.name}"
        index += 1
    taken.add(name)
    return name


def check_model_loads(train_config: Path, model_file: Path) -> torch.nn.Module:
    """Build the model of ``train_config`` and load ``model_file`` into it, as inference will.

    The weights are read with ``torch.load(weights_only=True)`` and must be a state_dict (or a
    checkpoint with a ``"model"`` entry) whose keys and shapes fit the model.

    Returns:
        the model.

    Raises:
        PackError: ``model_file`` is corrupt/truncated, is not a state_dict, does not fit the
            model of ``train_config`` or is a vocoder's; ``train_config`` is not a valid training
            config or is a vocoder's.
    """

    try:
        config = load_yaml_config(train_config)
        check_config_kind(train_config, "tts", config=config)
        # validated here first, so that a bad config is a PackError: the task's parser would exit the process
        TTSTask.get_parser().config_to_defaults(config, str(train_config))
    except ConfigError as exc:
        raise PackError(f"--train_config: {exc}") from None
    try:
        model, _ = build_model_for_inference(train_config, model_file)
    except (CheckpointError, ConfigError) as exc:  # ConfigError: a vocoder's weights
        raise PackError(f"--model_file: {exc}") from None
    except ValueError as exc:  # a model option the model's constructor refuses
        raise PackError(f"--train_config: {train_config}: the model cannot be built: {exc}") from None
    return model


def check_vocoder_loads(
    vocoder_config: Optional[Path], vocoder_file: Path, model: torch.nn.Module, tts_files: str
) -> None:
    """Load the vocoder as inference will and check that it fits the features of ``model`` (the TTS
    model of ``tts_files``); ``vocoder_config`` None: the ``config.yaml`` beside ``vocoder_file``.

    Raises:
        PackError: a vocoder file is unusable, is a TTS model's, or its feature settings differ from
            the TTS model's (the message names the differing settings).
    """
    if model.feats_extract is None:
        raise PackError(f"--vocoder_file: the TTS model {tts_files} has no feats_extract to vocode")
    try:
        build_vocoder(model.feats_extract.get_parameters(), vocoder_config, vocoder_file, feats_source=tts_files)
    except (CheckpointError, ConfigError, FileNotFoundError) as exc:
        raise PackError(f"--vocoder_file: {exc}") from None
    except ValueError as exc:  # a model option the vocoder's constructor refuses
        config = vocoder_config if vocoder_config is not None else default_vocoder_config(vocoder_file)
        raise PackError(f"--vocoder_config: {config}: the vocoder cannot be built: {exc}") from None


def pack_model(
    train_config: str | Path,
    model_file: str | Path,
    outpath: str | Path,
    option: Sequence[str | Path] = (),
    vocoder_file: Optional[str | Path] = None,
    vocoder_config: Optional[str | Path] = None,
) -> Path:
    """Write a packed model zip to ``outpath`` and return its path.

    Nothing is written unless the model of ``train_config`` can be built and ``model_file``
    loads into it (:func:`check_model_loads`), and the vocoder, if given, loads and fits the
    model's features (:func:`check_vocoder_loads`); the zip is written under a temporary name next
    to ``outpath`` and renamed at the end, and that temporary file is removed on any failure.

    Args:
        train_config: ``config.yaml`` of the training run.
        model_file: weights (``valid.loss.best.pth``, a checkpoint, ...).
        outpath: the zip to write (parent directories are created).
        option: extra files to store under ``files/``; config values naming them are rewritten.
        vocoder_file: weights of a trained vocoder to carry (``Text2Speech.from_pretrained`` uses it).
        vocoder_config: its training ``config.yaml`` (default: the one beside ``vocoder_file``).

    Raises:
        FileNotFoundError: a config, a weights file, a statistics file or an option file is missing.
        PackError: ``outpath`` is a directory, ``train_config`` is not valid YAML (the message names
            the file and line) or not a training config, ``model_file`` does not load into its model,
            or the vocoder is unusable, is a TTS model, or was trained on other features.
    """

    train_config, model_file, outpath = Path(train_config), Path(model_file), Path(outpath)
    checks = [(train_config, "--train_config"), (model_file, "--model_file")]
    given_vocoder_config = vocoder_config  # None: the loader names the file it looked for beside the weights
    if vocoder_file is not None:
        vocoder_file = Path(vocoder_file)
        checks.append((vocoder_file, "--vocoder_file"))
        if vocoder_config is not None:
            checks.append((Path(vocoder_config), "--vocoder_config"))
        vocoder_config = Path(vocoder_config) if vocoder_config is not None else default_vocoder_config(vocoder_file)
    elif vocoder_config is not None:
        raise PackError(f"--vocoder_config {vocoder_config} given without --vocoder_file (the vocoder's weights)")
    for path, what in checks:
        if not path.is_file():
            raise FileNotFoundError(f"{what}: no such file: {path}")
    if outpath.is_dir():
        raise PackError(f"--outpath {outpath} is a directory; give the zip file to write, e.g. {outpath / 'model.zip'}")
    try:
        config = load_yaml_config(train_config)
    except ConfigError as exc:
        raise PackError(f"--train_config: {exc}") from None
    taken = {CONFIG_MEMBER, META_MEMBER, VOCODER_CONFIG_MEMBER}
    members: Dict[str, Path] = {}  # member name -> source
    rename: Dict[str, str] = {}  # path string as written in a config (and resolved) -> member

    def add_files(sources: Dict[str, str], config_path: Path) -> None:
        for source, folder in sources.items():
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(
                    f"{config_path}: {source} ({folder.rsplit('/', 1)[-1]} file) does not exist; it must be "
                    "packed with the model"
                )
            if str(path.resolve()) in rename:  # the same file in both configs: one member
                rename[source] = rename[str(path.resolve())]
                continue
            member = _unique_member(folder, path, taken)
            members[member] = path
            rename[source] = member
            rename[str(path.resolve())] = member

    add_files({**_files_to_pack(config), **{str(p): "files" for p in option}}, train_config)
    model_member = _unique_member("model", model_file, taken)
    members[model_member] = model_file
    model = check_model_loads(train_config, model_file)
    yaml_files = {"train_config": CONFIG_MEMBER}
    files = {"model_file": model_member}
    if vocoder_file is not None:
        check_vocoder_loads(given_vocoder_config, vocoder_file, model, f"{model_file} ({train_config})")
        vocoder_conf = load_yaml_config(vocoder_config)  # read (and so valid) by the check
        folders = {k: f"{VOCODER_FOLDER}/{v}" for k, v in _files_to_pack(vocoder_conf).items()}
        add_files(folders, vocoder_config)
        files["vocoder_file"] = _unique_member(f"{VOCODER_FOLDER}/model", vocoder_file, taken)
        members[files["vocoder_file"]] = vocoder_file
        yaml_files["vocoder_config"] = VOCODER_CONFIG_MEMBER

    def rewrite(value: str) -> str:
        if value in rename:
            return rename[value]
        if os.sep in value or "/" in value:
            resolved = str(Path(value).resolve())
            return rename.get(resolved, value)
        return value

    configs = {CONFIG_MEMBER: _map_strings(config, rewrite)}
    if vocoder_file is not None:
        configs[VOCODER_CONFIG_MEMBER] = _map_strings(vocoder_conf, rewrite)
    meta = {
        "espkit_version": __version__,
        "torch_version": str(torch.__version__),
        "timestamp": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "yaml_files": yaml_files,
        "files": files,
        "packed_files": sorted(members),
    }
    try:
        with (
            atomic_write(outpath, "wb") as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            for member, packed_config in configs.items():
                archive.writestr(member, yaml.safe_dump(packed_config, indent=4, sort_keys=False, allow_unicode=True))
            archive.writestr(META_MEMBER, yaml.safe_dump(meta, sort_keys=False))
            for member, path in members.items():
                archive.write(path, member)
    except OSError as exc:
        raise PackError(f"--outpath {outpath}: cannot write the zip ({exc})") from None
    carried = f" with the vocoder {vocoder_file}" if vocoder_file is not None else ""
    logger.info("packed %s%s (%d files) into %s", model_file, carried, len(members) + len(configs) + 1, outpath)
    return outpath


def check_member_name(name: str, archive: str | Path) -> PurePosixPath:
    """Reject absolute member paths and ``..`` components (zip-slip); return the relative path."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\\" in name:
        raise PackError(
            f"{archive}: member {name!r} has an absolute or Windows path; refusing to unpack "
            "(a packed model holds only relative paths)"
        )
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise PackError(f"{archive}: member {name!r} contains '..'; refusing to unpack outside the target directory")
    return path


def default_unpack_dir(zip_path: str | Path) -> Path:
    """``$XDG_CACHE_HOME/espkit/packed/<zip stem>-<sha1 of the zip>`` (``~/.cache`` by default)."""
    zip_path = Path(zip_path)
    digest = hashlib.sha1()
    with zip_path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "espkit" / "packed" / f"{zip_path.stem}-{digest.hexdigest()[:12]}"


def unpack_model(zip_path: str | Path, target_dir: Optional[str | Path] = None) -> Dict[str, str]:
    """Extract a packed model into ``target_dir`` (default :func:`default_unpack_dir`).

    Every member name is checked first (:func:`check_member_name`), so nothing is written
    when one is unsafe. The extracted configs (``config.yaml``, and ``vocoder/config.yaml`` when a
    vocoder is packed) have their member paths rewritten to absolute paths inside ``target_dir``.

    Returns:
        ``{"train_config": path, "model_file": path}`` plus ``"vocoder_config"`` and
        ``"vocoder_file"`` when the zip carries a vocoder (absolute, as strings).

    Raises:
        FileNotFoundError: ``zip_path`` does not exist.
        PackError: not a zip, an unsafe member, or no ``meta.yaml``/``config.yaml``.
    """
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise FileNotFoundError(f"packed model not found: {zip_path}")
    if not zipfile.is_zipfile(zip_path):
        raise PackError(f"{zip_path} is not a zip file (make one with python -m espkit.bin.pack_model)")
    target = Path(target_dir) if target_dir is not None else default_unpack_dir(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        for name in names:
            check_member_name(name, zip_path)
        for required in (CONFIG_MEMBER, META_MEMBER):
            if required not in names:
                raise PackError(f"{zip_path} has no {required}; it was not written by espkit.bin.pack_model")
        meta = yaml.safe_load(archive.read(META_MEMBER)) or {}
        files = {
            key: value for key, value in (meta.get("files") or {}).items() if key in ("model_file", "vocoder_file")
        }
        yaml_files = (meta.get("yaml_files") or {}).get("vocoder_config")
        yaml_files = {"train_config": CONFIG_MEMBER, **({"vocoder_config": yaml_files} if yaml_files else {})}
        files.setdefault("model_file", None)
        for key, member in {**files, **yaml_files}.items():
            if member not in names:
                raise PackError(f"{zip_path}: meta.yaml names {key} {member!r}, which is not in the zip")
        if ("vocoder_file" in files) != ("vocoder_config" in yaml_files):
            raise PackError(f"{zip_path}: meta.yaml names a vocoder_file or a vocoder_config but not both")
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        for name in names:
            destination = (root / name).resolve()
            if root != destination and root not in destination.parents:
                raise PackError(f"{zip_path}: member {name!r} would be written outside {root}")
            if name.endswith("/"):
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as src, destination.open("wb") as dst:
                dst.write(src.read())
    packed = set(meta.get("packed_files") or [])
    unpacked = {}
    for key, member in yaml_files.items():
        config_path = root / member
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        config = _map_strings(config, lambda value: str(root / value) if value in packed else value)
        config_path.write_text(yaml.safe_dump(config, indent=4, sort_keys=False, allow_unicode=True), encoding="utf-8")
        unpacked[key] = str(config_path)
    return {**unpacked, **{key: str(root / member) for key, member in files.items()}}
