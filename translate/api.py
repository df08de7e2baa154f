"""The public Python API: load a model and call it, train from Python, list the zoo.

Everything here is a thin layer over the rooms the CLI also uses, so ``translate apply``
and ``translate.load(...)(image)`` compute the same thing::

    >>> import numpy as np, translate
    >>> g = translate.load("checkpoints/demo_cartoon")         # doctest: +SKIP
    >>> out = g(np.zeros((37, 53, 3), np.uint8))                # doctest: +SKIP
    >>> out.shape                                               # doctest: +SKIP
    (37, 53, 3)
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from translate import checkpoint as ckpt
from translate.apply.frames import FrameTranslator
from translate.apply.images import translate_tensor
from translate.apply.job import tiling_for
from translate.apply.tiling import TilingNet
from translate.apply.video import VideoOptions, VideoResult, translate_video
from translate.checkpoint import GeneratorSpec
from translate.data import convert_channels
from translate.devices import precision_name, resolve_device, resolve_precision
from translate.errors import DataError, InvalidSettingError, UsageError
from translate.interop.loading import load_generator

PathLike = Union[str, Path]


def _is_pil(image: Any) -> bool:
    return type(image).__module__.startswith("PIL.")


class Model:
    """A generator ready to translate: call it on images, or hand it a video.

    Accepts one image or a list of them, each a ``HxWxC`` (or ``HxW``) uint8 numpy array, a
    PIL image, or a float tensor in [-1, 1] (``CxHxW`` or ``NxCxHxW``); returns the same kind,
    at the same size. Images too large for memory are translated in overlapping tiles
    (``tile``: auto, off, or a tile size in pixels), as ``translate apply --tile`` does.
    Build one with ``translate.load``.
    """

    def __init__(self, net: nn.Module, spec: GeneratorSpec, source: Path, metadata: Mapping[str, Any],
                 device: Optional[str] = None, precision: Optional[str] = None, tile: Union[str, int] = "auto",
                 on_message: Callable[[str], None] = lambda message: None):
        mode, tiles = tiling_for(str(tile))
        self.generator = net.eval()  # the network itself, for callers that need its layers
        self.net = TilingNet(net, mode, tiles, (spec.preprocess or {}).get("size"), on_message).eval()
        self.spec = spec
        self.source = source
        self._metadata = dict(metadata)
        self.multiple = int(getattr(net, "size_multiple", 1))
        self.to(device, precision)

    # -- what it is ---------------------------------------------------------------------------
    @property
    def metadata(self) -> Dict[str, Any]:
        """Translator, architecture, direction, options and training step, as saved with the weights."""
        return {"translator": self.spec.translator, "architecture": self.spec.architecture,
                "direction": self.spec.direction, "in_channels": self.spec.in_channels,
                "out_channels": self.spec.out_channels, "options": dict(self.spec.kwargs),
                "preprocess": dict(self.spec.preprocess), **self._metadata}

    @property
    def directions(self) -> List[str]:
        """Every direction the source holds (``AtoB``, ``BtoA``, ...); ``load(path, direction)`` picks one."""
        return list(self._metadata.get("directions", [self.spec.direction]))

    def __repr__(self) -> str:
        return (f"Model({self.spec.translator or 'generator'} {self.spec.direction}, {self.spec.architecture}, "
                f"{self.device}, {precision_name(self.dtype)}, from {self.source})")

    # -- where it runs ------------------------------------------------------------------------
    def to(self, device: Optional[str] = None, precision: Optional[str] = None) -> "Model":
        """Move to ``device`` (auto, cpu, cuda, cuda:N) and compute in ``precision`` (auto, fp32, bf16, fp16)."""
        self.device = resolve_device(device or "auto")
        self.dtype = resolve_precision(precision or "auto", self.device)
        self.net = self.net.to(self.device)
        return self

    # -- images ---------------------------------------------------------------------------------
    def __call__(self, images: Any) -> Any:
        if isinstance(images, (list, tuple)):
            return [self(image) for image in images]
        if isinstance(images, torch.Tensor):
            return self._tensor(images)
        if _is_pil(images):
            from PIL import Image

            return Image.fromarray(_squeeze_grey(self._array(_pil_pixels(images))))
        if isinstance(images, np.ndarray):
            return self._array(images)
        raise UsageError(f"cannot translate a {type(images).__name__}: give a uint8 numpy array, a PIL image, "
                         f"a float tensor in [-1, 1], or a list of them")

    def _tensor(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():
            # A uint8 tensor read as [-1, 1] would translate a white image: refuse, do not guess.
            raise UsageError(f"expected a float tensor in [-1, 1], got {x.dtype} (give 0-255 images as a uint8 "
                             f"numpy array, or scale the tensor with x / 127.5 - 1)")
        single = x.dim() == 3
        batch = x.unsqueeze(0) if single else x
        if batch.dim() != 4 or batch.shape[1] != self.spec.in_channels:
            raise UsageError(f"expected a {self.spec.in_channels}xHxW or Nx{self.spec.in_channels}xHxW tensor, "
                             f"got shape {tuple(x.shape)}")
        _check_image_size(batch.shape[-2], batch.shape[-1])
        try:
            y = translate_tensor(self.net, batch.to(self.device, torch.float32), self.multiple, self.dtype)
        except (RuntimeError, ValueError) as exc:  # e.g. instance norm or reflect padding on a 1x1 image
            h, w = batch.shape[-2:]
            raise DataError(f"cannot translate this {w}x{h} image: {' '.join(str(exc).split()[:30])}") from None
        return y[0] if single else y

    def _array(self, image: np.ndarray) -> np.ndarray:
        if image.dtype != np.uint8:
            raise UsageError(f"expected a uint8 image, got {image.dtype} (scale to 0-255 first)")
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
            raise UsageError(f"expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape {image.shape}")
        _check_image_size(image.shape[0], image.shape[1])
        if self.spec.preprocess.get("input", "rgb") != "rgb":
            raise UsageError(f"this {self.spec.translator} model reads {self.spec.preprocess.get('input')} inputs, "
                             f"not images: use `translate apply` on its files")
        image = convert_channels(image[..., :3], self.spec.in_channels)  # alpha is not translated
        x = torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1).contiguous().float()
        y = self._tensor(x.div_(127.5).sub_(1.0))
        return ((y.clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8).permute(1, 2, 0).cpu().numpy()

    # -- video and folders -----------------------------------------------------------------------
    def translate_video(self, source: PathLike, destination: PathLike, batch_size: int = 4, progress: bool = True,
                        on_frames: Optional[Callable[[int], None]] = None,
                        on_message: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
                        **options: Any) -> VideoResult:
        """Translate a video file, frames streamed and the audio kept; ``options`` are ``VideoOptions``
        fields (size, fps, side_by_side, temporal, codec, crf, ...). ``progress`` draws a bar on
        stderr; ``on_frames(n)`` hears every batch of ``n`` frames written (for a page's progress bar)."""
        known = {f.name for f in dataclasses.fields(VideoOptions)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidSettingError(f"unknown video option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        translator = FrameTranslator(self.net, self.device, self.dtype, self.spec.in_channels)
        return translate_video(Path(source), Path(destination), translator,
                               VideoOptions(batch_size=batch_size, **options), progress=progress,
                               on_message=on_message, overall=_FrameCallback(on_frames) if on_frames else None)

    def translate_folder(self, source: PathLike, destination: PathLike, batch_size: int = 4,
                         overwrite: bool = False):
        """Translate every image and video under ``source`` into ``destination`` (the tree mirrored);
        returns the report of written, skipped and failed files."""
        from translate.apply.batch import BatchOptions, plan_media, run_batch

        problems: List[Tuple[Path, str]] = []  # folders that cannot be listed, broken links
        pairs = plan_media(Path(source), Path(destination), problems)
        options = BatchOptions(batch_size=batch_size, overwrite=overwrite, video=VideoOptions(batch_size=batch_size))
        report = run_batch(self.net, pairs, self.spec.in_channels, self.device, self.dtype, options,
                           self.spec.preprocess)
        report.failed[:0] = problems
        return report


class _FrameCallback:
    """Stands in for the video pipeline's overall progress bar (it calls update and close)."""

    def __init__(self, on_frames: Callable[[int], None]):
        self.on_frames = on_frames

    def update(self, n: int = 1) -> None:
        self.on_frames(n)

    def close(self) -> None:
        pass


# PIL modes whose pixels are not 8-bit RGB or grey, converted as Pillow defines it (a palette is
# looked up, CMYK and YCbCr become RGB) so the model never sees raw indices or ink channels.
_PIL_AS_IS = ("RGB", "RGBA", "L")
_PIL_8BIT = ("1", "LA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La")


def _pil_pixels(image: Any) -> np.ndarray:
    if image.mode in _PIL_AS_IS:
        return np.asarray(image)
    if image.mode in _PIL_8BIT:
        keeps_alpha = image.mode in ("LA", "PA", "La", "RGBa") or "transparency" in image.info
        return np.asarray(image.convert("RGBA" if keeps_alpha else "RGB"))
    raise UsageError(f"cannot translate a PIL image in mode {image.mode!r} (16-bit or float pixels): convert it "
                     f"to 8 bits first, e.g. image.convert('RGB')")


# The smallest side the API accepts: below it reflect padding and instance norm are undefined.
MIN_SIDE = 2


def _check_image_size(height: int, width: int) -> None:
    if height < MIN_SIDE or width < MIN_SIDE:
        raise DataError(f"cannot translate a {width}x{height} image: both sides must be at least {MIN_SIDE} pixels")


def _squeeze_grey(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.shape[2] == 1 else image


def load(path: PathLike, direction: Optional[str] = None, device: Optional[str] = None,
         precision: Optional[str] = None, tile: Union[str, int] = "auto") -> Model:
    """Load a run folder, a ``.safetensors`` generator or a published ``.pth``; no architecture flags.

    ``direction`` picks AtoB or BtoA in two-way models (default AtoB, or the only one there is);
    ``tile`` is auto (whole, tiles only when an image does not fit in memory), off, or a size.
    """
    path = Path(path).expanduser()
    net, spec = load_generator(path, direction)
    metadata: Dict[str, Any] = {}
    if path.is_dir():
        meta = ckpt.read_metadata(path)
        metadata = {"step": meta.get("step"), "directions": list(meta.get("generators", {}))}
    return Model(net, spec, path, metadata, device, precision, tile)


def train(translator: str, data: PathLike, steps: Optional[int] = None, name: Optional[str] = None,
          checkpoints_dir: Optional[PathLike] = None, set: Optional[Mapping[str, Any]] = None,
          resume: bool = False, config: Optional[PathLike] = None, **train_keys: Any) -> Path:
    """Train ``translator`` on the dataset folder ``data``; returns the run folder.

    ``set`` overrides any config key (as ``--set`` does: ``{"lambda_cycle": 5}``); other keyword
    arguments are training keys (``size=128``, ``batch_size=4``, ``device="cpu"``, ...). The run is
    the one ``translate train`` makes with the same values.
    """
    from translate.training.loop import train as run_training
    from translate.training.setup import resolve_run

    values = {"data": str(data), "steps": steps, "name": name or Path(data).name,
              "checkpoints_dir": str(checkpoints_dir) if checkpoints_dir is not None else None, **train_keys}
    pairs = [f"{key}={_yaml_value(value)}" for key, value in (set or {}).items()]
    return run_training(resolve_run(translator, values, pairs, config, resume), resume=resume)


def _yaml_value(value: Any) -> str:
    import json

    # JSON is YAML: strings, numbers, booleans, lists and dicts arrive with their types.
    return json.dumps(value)


def list_models() -> Dict[str, List[Tuple[str, str]]]:
    """What ``translate models`` prints: (name, one-line summary) per translator, generator,
    discriminator and loss.

    >>> zoo = list_models()
    >>> sorted(zoo)
    ['discriminators', 'generators', 'losses', 'translators']
    >>> "cyclegan" in dict(zoo["translators"])
    True
    """
    from translate.registry import DISCRIMINATORS, GENERATORS, LOSSES, TRANSLATORS

    return {"translators": TRANSLATORS.summaries(), "generators": GENERATORS.summaries(),
            "discriminators": DISCRIMINATORS.summaries(), "losses": LOSSES.summaries()}


__all__ = ["Model", "load", "train", "list_models"]
