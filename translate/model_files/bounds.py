"""What a model file may make the toolkit read or allocate, checked before anything real is built.

A model file describes an architecture and holds weights; both are read from bytes someone else
wrote. Every size below is checked from the file's own header or metadata, before the memory it
asks for is allocated, and every refusal is one line naming the file and the problem:

* metadata JSON (``translate.json``, the spec inside a safetensors header): bounded in bytes and
  in nesting depth (a 100,000-deep array would otherwise end in ``RecursionError``);
* a safetensors header: bounded in bytes, every tensor's dtype, shape and offsets consistent with
  each other and with the file's real length (a truncated file or a huge claimed tensor is named);
* an architecture: built on the meta device (shapes only, nothing allocated) and its parameter
  count bounded, so ``ngf: 4096`` (46.5 G parameters) is refused before it is built for real;
* a pickled ``.pth``: its zip records may not unpack to more than the file holds, and no storage
  in its pickle may claim more elements than the file has bytes (the legacy format allocates
  what the pickle claims before reading it).
"""
from __future__ import annotations

import json
import math
import pickletools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, Mapping, Tuple

import torch
from torch import nn

from translate.errors import TranslateError

# The largest generator a model file may describe. pix2pixHD's global generator and its local
# enhancer (the largest published image-to-image generators) have ~183 M parameters, a U-Net 256
# 54 M, CycleGAN's ResNet 11 M; 1 G leaves more than 5x headroom over all of them, while its fp32
# weights (3.7 GiB, twice that while a file's tensors are copied in) still fit a laptop or a small
# GPU. ngf: 4096 on a ResNet (46.5 G parameters, 173 GiB) is refused here before it is built.
PARAMETER_LIMIT = 1_000_000_000
# Metadata of a real model is kilobytes (a safetensors header of pix2pixHD's local enhancer is
# ~20 KB); 16 MiB is far above that and far below what reading it costs.
METADATA_BYTES_LIMIT = 16 * 2**20
# translate.json is nested 5 levels deep (pose statistics add a few); nothing needs 64.
JSON_DEPTH_LIMIT = 64
# Bytes per element of each safetensors dtype (the format's own names).
SAFETENSORS_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
                      "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
_FLOATING = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}


class CheckpointError(TranslateError, RuntimeError):
    """A checkpoint that cannot be read; the message names the file and the problem."""


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


# --------------------------------------------------------------------------- JSON


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# Containers a parsed document may hold, counted as a walk meets them: a YAML alias is met once per
# reference, so a "billion laughs" file (each list nine aliases of the last) is stopped here
# instead of when it is printed.
NODE_LIMIT = 1_000_000


def too_nested(data: Any, depth_limit: int = JSON_DEPTH_LIMIT, node_limit: int = NODE_LIMIT) -> bool:
    """Whether ``data`` nests deeper than ``depth_limit`` or expands to over ``node_limit`` containers;
    iterative, so it cannot itself recurse too deep."""
    stack: List[Tuple[Any, int]] = [(data, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            seen += 1
            if depth > depth_limit or seen > node_limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(text: str | bytes, where: Any, what: str = "metadata") -> Any:
    """``json.loads`` with one-line errors, no NaN/Infinity, and nesting at most ``JSON_DEPTH_LIMIT`` deep."""
    if len(text) > METADATA_BYTES_LIMIT:
        raise CheckpointError(f"{where}: its {what} is {len(text):,} bytes, over the limit of "
                              f"{METADATA_BYTES_LIMIT // 2**20} MiB")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise CheckpointError(f"{where}: its {what} is nested too deep to read (over {JSON_DEPTH_LIMIT} "
                              f"levels)") from None
    except ValueError as exc:  # JSONDecodeError, a NaN, an int of more digits than Python converts
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{where}: its {what} is not valid JSON ({first})") from None
    if too_nested(data):
        raise CheckpointError(f"{where}: its {what} is nested over {JSON_DEPTH_LIMIT} levels deep")
    return data


def read_json_file(path: Path, what: str = "metadata") -> Any:
    """A JSON file's content, its size checked before it is read."""
    size = Path(path).stat().st_size  # FileNotFoundError is the caller's to word
    if size > METADATA_BYTES_LIMIT:
        raise CheckpointError(f"{path}: {size:,} bytes, over the limit of {METADATA_BYTES_LIMIT // 2**20} MiB "
                              f"for {what}")
    return parse_json(Path(path).read_bytes(), path, what)


# --------------------------------------------------------------------------- safetensors header


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: Tuple[int, ...]
    start: int  # byte offsets into the data that follows the header
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    metadata: Dict[str, str]
    tensors: Dict[str, TensorEntry]


def _tensor_entry(name: str, info: Any, where: Path) -> TensorEntry:
    if not isinstance(info, dict):
        raise CheckpointError(f"{where}: header entry {name!r} is not a mapping")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in SAFETENSORS_DTYPES:
        raise CheckpointError(f"{where}: tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                              for s in shape):
        raise CheckpointError(f"{where}: tensor {name!r} has shape {shape!r}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) and not isinstance(o, bool)
                                                                     for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise CheckpointError(f"{where}: tensor {name!r} has data_offsets {offsets!r}, not [start, end]")
    claimed = math.prod(shape) * SAFETENSORS_DTYPES[dtype]
    if offsets[1] - offsets[0] != claimed:
        raise CheckpointError(f"{where}: tensor {name!r} of shape {tuple(shape)} needs {claimed:,} bytes but its "
                              f"offsets hold {offsets[1] - offsets[0]:,}")
    return TensorEntry(dtype, tuple(shape), offsets[0], offsets[1])


def read_safetensors_header(path: Path) -> SafetensorsHeader:
    """The header of a safetensors file, checked against the file's length before any tensor is read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path}: {size} bytes, too short to be a safetensors file")
            length = int.from_bytes(prefix, "little")
            if length > METADATA_BYTES_LIMIT:
                raise CheckpointError(f"{path}: its header claims {length:,} bytes, over the limit of "
                                      f"{METADATA_BYTES_LIMIT // 2**20} MiB (not a safetensors file, or a hostile one)")
            if 8 + length > size:
                raise CheckpointError(f"{path}: truncated: its header claims {length:,} bytes but the file has "
                                      f"{size:,}")
            raw = f.read(length)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: a folder, not a safetensors file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    data = parse_json(raw, path, "safetensors header")
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: its safetensors header is not a mapping")
    metadata = data.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: its safetensors metadata must map names to strings")
    tensors = {name: _tensor_entry(name, info, path) for name, info in data.items()}
    end = 8 + length + max((t.end for t in tensors.values()), default=0)
    if end > size:
        raise CheckpointError(f"{path}: truncated: its header says the data ends at byte {end:,} but the file has "
                              f"{size:,}")
    return SafetensorsHeader(metadata, tensors)


def check_weights_fit(expected: Mapping[str, torch.Tensor], header: SafetensorsHeader, where: Path,
                      architecture: str) -> None:
    """The file's tensors are exactly the (meta-built) network's: names, shapes, and float vs integer."""
    missing = sorted(k for k in expected if k not in header.tensors)
    unexpected = sorted(k for k in header.tensors if k not in expected)
    if missing or unexpected:
        raise CheckpointError(f"{where}: weights do not fit {architecture} (missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]})")
    for key, tensor in expected.items():
        entry = header.tensors[key]
        if entry.shape != tuple(tensor.shape):
            raise CheckpointError(f"{where}: weights do not fit {architecture}: {key} has shape {entry.shape} in "
                                  f"the file, {tuple(tensor.shape)} in the architecture its metadata describes")
        if (entry.dtype in _FLOATING) != tensor.is_floating_point():
            raise CheckpointError(f"{where}: weights do not fit {architecture}: {key} is {entry.dtype} in the file, "
                                  f"{str(tensor.dtype).replace('torch.', '')} in the architecture")


# --------------------------------------------------------------------------- architecture size


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def build_on_meta(build: Callable[[], nn.Module], where: Any, architecture: str) -> nn.Module:
    """The network ``build`` makes, on the meta device (shapes only), refused over ``PARAMETER_LIMIT``."""
    try:
        with torch.device("meta"):
            net = build()
    except (TranslateError, ValueError, TypeError, KeyError, IndexError, RuntimeError, ZeroDivisionError) as exc:
        # A builder refusing options a file gave it (norm: evil, a size its levels cannot halve).
        raise CheckpointError(f"{where}: cannot build {architecture} with the options it gives "
                              f"({_first_line(exc)})") from None
    check_parameter_count(sum(p.numel() for p in net.parameters()), where)
    return net


def check_parameter_count(count: int, where: Any) -> None:
    if count > PARAMETER_LIMIT:
        raise CheckpointError(f"{where}: this architecture has {count:,} parameters ({gib(count * 4)} in fp32), "
                              f"over the limit of {PARAMETER_LIMIT:,} ({gib(PARAMETER_LIMIT * 4)})")


# --------------------------------------------------------------------------- pickled .pth files

_PUSHES_INT = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}


def _claimed_storage_sizes(stream: IO[bytes]) -> Iterator[int]:
    """The largest integer in each persistent id of one pickle, read without running it.

    torch pickles every storage as a persistent id ``('storage', type, key, location, numel, ...)``;
    its integers are the element count (and a view's offset and size, never larger). The opcodes are
    only listed (``pickletools.genops``), nothing is imported or called.
    """
    frames: List[List[int]] = []
    last_tuple: List[int] = []
    for opcode, arg, _ in pickletools.genops(stream):
        if opcode.name == "MARK":
            frames.append([])
        elif opcode.name in _PUSHES_INT and frames and isinstance(arg, int):
            frames[-1].append(arg)
        elif opcode.name == "TUPLE" and frames:
            last_tuple = frames.pop()
            if frames:
                frames[-1].extend(last_tuple)
        elif opcode.name in ("BINPERSID", "PERSID"):
            yield max(last_tuple, default=0)
        elif opcode.name in ("LIST", "DICT", "OBJ", "INST", "SETITEMS", "APPENDS", "ADDITEMS", "FROZENSET",
                             "POP_MARK") and frames:
            frames.pop()


def _check_pickle(stream: IO[bytes], size: int, where: Path) -> None:
    try:
        for claimed in _claimed_storage_sizes(stream):
            if claimed > size:
                raise CheckpointError(f"{where}: a tensor in it claims {claimed:,} elements, more than the "
                                      f"{size:,}-byte file can hold (truncated, or made to exhaust memory)")
    except ValueError:
        return  # not a pickle this scan can follow: torch.load says what is wrong with it


def check_torch_file(path: Path) -> None:
    """Refuse a ``torch.save`` file whose claimed sizes exceed its length, before ``torch.load`` allocates them."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as stream:
        # torch's own test for its zip format (zipfile.is_zipfile looks at the end instead, where a
        # legacy file's raw tensor bytes could look like a zip directory by chance).
        is_zip = stream.read(4) == b"PK\x03\x04"
    if is_zip:
        try:
            with zipfile.ZipFile(path) as archive:
                records = archive.infolist()
                unpacked = sum(r.file_size for r in records)
                if unpacked > size:
                    # torch stores records uncompressed; a deflated one that unpacks beyond the file is a bomb.
                    raise CheckpointError(f"{path}: its zip records unpack to {unpacked:,} bytes from a "
                                          f"{size:,}-byte file; torch never compresses them, so it is refused")
                for record in records:
                    if record.filename.endswith(".pkl"):
                        with archive.open(record) as stream:
                            _check_pickle(stream, size, path)
        except (zipfile.BadZipFile, OSError, EOFError):
            pass  # no directory to read sizes from: torch.load refuses it too, in its own words
        return
    # The legacy format: pickles of a magic number, the protocol, system info, the object, and the
    # storage keys, then the raw storages. Only the object's pickle holds persistent ids.
    with open(path, "rb") as stream:
        for _ in range(5):
            _check_pickle(stream, size, path)
