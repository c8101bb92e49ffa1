"""``ESPnetDataset``: ``dataset[uid] -> (uid, {name: np.ndarray})`` over Kaldi-style data files.

>>> dataset = ESPnetDataset([("dump/train/wav.scp", "speech", "sound"),
...                          ("dump/train/text", "text", "text")])  # doctest: +SKIP
>>> uid, data = dataset["happy_0001"]                               # doctest: +SKIP
>>> data["speech"].shape, data["text"]                              # doctest: +SKIP
((41216,), 'the birch canoe slid on the smooth planks.')

Data types (the third field of ``--*_data_path_and_name_and_type``):

=============  =======================================================  ==================
type           file                                                     value
=============  =======================================================  ==================
sound          ``wav.scp`` (16/32-bit PCM or float WAV)                 float ``(T,)``/``(T, C)``
npy            ``feats.scp`` of ``.npy`` files                          the array
rawf32:<dim>   scp of raw little-endian float32 files, ``dim`` columns  float ``(N, dim)``
text           ``uid text...``                                          ``str``
text_int       ``uid 1 2 3``                                            int ``(L,)``
text_float     ``uid 0.1 0.2``                                          float ``(L,)``
csv_int        ``uid 1,2,3``                                            int ``(L,)``
csv_float      ``uid 0.1,0.2``                                          float ``(L,)``
=============  =======================================================  ==================
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from espkit.fileio.npy_scp import NpyScpReader
from espkit.fileio.rawf32 import RawF32ScpReader
from espkit.fileio.read_text import DataFormatError, load_num_sequence_text, read_2columns_text
from espkit.fileio.sound_scp import SoundScpReader
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

DATA_TYPES = ("sound", "npy", "rawf32:<dim>", "text", "text_int", "text_float", "csv_int", "csv_float")


def build_loader(path: str, data_type: str, fs: Optional[int] = None) -> Mapping[str, Any]:
    """A lazy ``uid -> value`` mapping for one data file of the given type."""
    if data_type == "sound":
        return _SoundLoader(SoundScpReader(path, dtype="float32", expected_fs=fs))
    if data_type == "npy":
        return NpyScpReader(path)
    if data_type.startswith("rawf32:"):
        dim = data_type.split(":", 1)[1]
        if not dim.isdigit() or int(dim) <= 0:
            raise ValueError(f"{path}: type {data_type!r} needs a positive dimension, e.g. rawf32:80")
        return RawF32ScpReader(path, int(dim))
    if data_type == "text":
        return read_2columns_text(path)
    if data_type in ("text_int", "text_float", "csv_int", "csv_float"):
        return load_num_sequence_text(path, loader_type=data_type)
    raise DataFormatError(f"{path}: unknown data type {data_type!r}; valid types: {', '.join(DATA_TYPES)}")


class _SoundLoader(Mapping):
    """``SoundScpReader`` returning only the samples (the rate was checked on reading)."""

    def __init__(self, reader: SoundScpReader):
        self.reader = reader

    def __getitem__(self, uid: str) -> np.ndarray:
        return self.reader[uid][1]

    def __iter__(self):
        return iter(self.reader)

    def __len__(self) -> int:
        return len(self.reader)


class ESPnetDataset:
    """Joins several data files by uid; loads lazily; optional size-bounded in-memory cache.

    Args:
        path_name_type_list: ``[(path, name, type), ...]``; every file must hold the same uids.
        preprocess: ``fn(uid, data) -> data`` (tokenisation, label ids, ...).
        float_dtype: dtype of floating arrays after preprocessing.
        int_dtype: dtype of integer arrays after preprocessing (``long`` = int64).
        max_cache_size: Bytes of raw (pre-processing) data kept in memory; 0 disables the cache.
        fs: Expected sampling rate of ``sound`` data (a mismatch is an error naming the file).
    """

    @typechecked
    def __init__(
        self,
        path_name_type_list: Sequence[Union[Tuple[str, str, str], Sequence[str]]],
        preprocess: Optional[Callable[[str, Dict[str, Any]], Dict[str, Any]]] = None,
        float_dtype: str = "float32",
        int_dtype: str = "long",
        max_cache_size: Union[float, int] = 0.0,
        fs: Optional[int] = None,
    ):
        if len(path_name_type_list) == 0:
            raise ValueError("ESPnetDataset needs at least one (path, name, type) entry")
        self.preprocess = preprocess
        self.float_dtype = np.dtype(float_dtype)
        self.int_dtype = np.dtype("int64" if int_dtype == "long" else int_dtype)
        self.max_cache_size = float(max_cache_size or 0)
        self.loaders: Dict[str, Mapping[str, Any]] = {}
        self.paths: Dict[str, str] = {}
        self.types: Dict[str, str] = {}
        for entry in path_name_type_list:
            path, name, data_type = entry
            if name in self.loaders:
                raise ValueError(f"data name {name!r} is given twice ({self.paths[name]} and {path})")
            self.loaders[name] = build_loader(path, data_type, fs=fs)
            self.paths[name] = path
            self.types[name] = data_type
        self.uids = self._check_same_uids()
        self._cache: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()
        self._cache_bytes = 0.0

    def _check_same_uids(self) -> list:
        names = list(self.loaders)
        first = names[0]
        uids = list(self.loaders[first].keys())
        reference = set(uids)
        for name in names[1:]:
            other = set(self.loaders[name].keys())
            missing = sorted(reference - other)
            extra = sorted(other - reference)
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"{len(missing)} uid(s) of {self.paths[first]} are missing, e.g. {missing[:3]}")
                if extra:
                    parts.append(f"{len(extra)} uid(s) are not in {self.paths[first]}, e.g. {extra[:3]}")
                raise DataFormatError(
                    f"{self.paths[name]} and {self.paths[first]} cover different uids: " + "; ".join(parts)
                )
        return uids

    def names(self) -> Tuple[str, ...]:
        return tuple(self.loaders)

    def has_name(self, name: str) -> bool:
        return name in self.loaders

    def __len__(self) -> int:
        return len(self.uids)

    def __iter__(self):
        return iter(self.uids)

    def load_raw(self, uid: str) -> Dict[str, Any]:
        """The values of ``uid`` as stored (no preprocessing), through the cache."""
        if uid in self._cache:
            self._cache.move_to_end(uid)
            return self._cache[uid]
        data = {}
        for name, loader in self.loaders.items():
            try:
                data[name] = loader[uid]
            except KeyError:
                raise KeyError(f"uid {uid!r} not found in {self.paths[name]}") from None
        if self.max_cache_size > 0:
            self._remember(uid, data)
        return data

    def _remember(self, uid: str, data: Dict[str, Any]) -> None:
        size = sum(v.nbytes if isinstance(v, np.ndarray) else len(str(v)) for v in data.values())
        if size > self.max_cache_size:
            return
        while self._cache and self._cache_bytes + size > self.max_cache_size:
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= sum(v.nbytes if isinstance(v, np.ndarray) else len(str(v)) for v in evicted.values())
        self._cache[uid] = data
        self._cache_bytes += size

    def __getitem__(self, uid: Union[str, int]) -> Tuple[str, Dict[str, np.ndarray]]:
        if isinstance(uid, (int, np.integer)):
            uid = self.uids[uid]
        data = dict(self.load_raw(uid))
        if self.preprocess is not None:
            data = self.preprocess(uid, data)
        return uid, {name: self._to_array(uid, name, value) for name, value in data.items()}

    def _to_array(self, uid: str, name: str, value: Any) -> np.ndarray:
        if isinstance(value, str):
            raise TypeError(
                f"uid {uid!r}: data {name!r} is still text after preprocessing; "
                "the task's preprocessor must convert it (is --token_list set?)"
            )
        array = np.asarray(value)
        if array.dtype.kind == "f":
            return array.astype(self.float_dtype, copy=False)
        if array.dtype.kind in "iub":
            return array.astype(self.int_dtype, copy=False)
        raise TypeError(f"uid {uid!r}: data {name!r} has unsupported dtype {array.dtype}")
