"""One object runs a model: encode -> network -> decode, decided once.

Whatever a user names (a run folder, a ``.safetensors`` generator, a published ``.pth``) becomes a
``Model``. It owns everything between pixels and the network that callers used to decide each on
their own: which inputs the generator reads (RGB images of its channel count, label maps, pose
figures), the pixel mapping (``translate.pixels``), padding to the generator's size multiple,
whole-frame or tiled passes chosen from memory (``TilingNet``), the device and the autocast
precision, and batching. The Python API (``translate.load`` returns one), ``translate apply``
(folders, video), the pipelines, ``translate serve`` and ``translate eval`` all run models through
it, so ``apply`` and ``translate.load(...)(image)`` compute the same thing by construction.

The file rooms below it take plain callables or this object's methods: ``apply.images`` reads
and batches with ``read``/``to_batch``/``run``; ``apply.video`` streams frames through ``frames``.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from translate.apply.batch import BatchOptions, BatchReport, Plan, plan_batch, run_batch
from translate.apply.frames import batch_to_frames, frames_to_batch
from translate.apply.images import translate_tensor
from translate.apply.inputs import ENCODERS, InputEncoder, feature_clusters, input_encoder
from translate.apply.memory import fits
from translate.apply.tiling import TileSpec, TilingNet
from translate.apply.video import VideoOptions, VideoResult, translate_video
from translate.checkpoint import GeneratorSpec
from translate.choices import DEFAULT_DIRECTION
from translate.data import convert_channels
from translate.data.feature_clusters import FeatureChoice, FeatureClusters
from translate.data.io import MAX_PIXELS
from translate.devices import precision_name, resolve_device, resolve_precision
from translate.errors import DataError, InvalidSettingError, UsageError
from translate.pixels import from_unit, to_unit

PathLike = Union[str, Path]
Message = Callable[[str], None]

# The smallest side an image may have: below it reflect padding and instance norm are undefined.
MIN_SIDE = 2


def tiling_for(tile: Union[str, int], overlap: int = TileSpec().overlap) -> Tuple[str, TileSpec]:
    """``--tile`` / ``tile=`` (auto, off, or a size in px) -> TilingNet's mode and tile spec."""
    mode, size = ("on", int(tile)) if str(tile).isdigit() else (str(tile), TileSpec().size)
    return mode, TileSpec(size, min(overlap, size // 2))


def _quiet(message: str) -> None:
    pass


class Model:
    """A generator ready to translate: call it on images, or hand it files and videos.

    Accepts one image or a list of them, each a ``HxWxC`` (or ``HxW``) uint8 numpy array, a
    PIL image, or a float tensor in [-1, 1] (``CxHxW`` or ``NxCxHxW``); returns the same kind,
    at the same size. Images too large for memory are translated in overlapping tiles
    (``tile``: auto, off, or a tile size in pixels), as ``translate apply --tile`` does.
    Build one with ``translate.load`` (or ``Model.from_file``).
    """

    def __init__(self, net: nn.Module, spec: GeneratorSpec, source: Optional[Path] = None,
                 metadata: Optional[Mapping[str, Any]] = None, device: Optional[str] = None,
                 precision: Optional[str] = None, tile: Union[str, int] = "auto", tile_overlap: int = 64,
                 on_message: Message = _quiet, size_multiple: Optional[int] = None, features: Any = None):
        mode, tiles = tiling_for(tile, tile_overlap)
        self.generator = net.eval()  # the network itself, for callers that need its layers
        self.spec = spec
        self.source = source
        self._metadata = dict(metadata or {})
        # Declared by every generator; a bare network (Model.of_network) is given its multiple.
        self.multiple = int(net.size_multiple if size_multiple is None else size_multiple)
        self.net = TilingNet(net, mode, tiles, self.preprocess.get("size"), on_message, self.multiple).eval()
        self._encoder: Optional[InputEncoder] = None  # built on first file read: pose models read none
        self.feature_choice = FeatureChoice()
        if features is not None:
            self.choose_features(features)
        self.to(device, precision)

    @classmethod
    def from_file(cls, path: PathLike, direction: Optional[str] = None, device: Optional[str] = None,
                  precision: Optional[str] = None, tile: Union[str, int] = "auto", tile_overlap: int = 64,
                  on_message: Message = _quiet, prepare: Optional[Callable[[nn.Module], nn.Module]] = None,
                  features: Any = None) -> "Model":
        """Load a run folder, a ``.safetensors`` generator or a published ``.pth``; no architecture
        flags. ``prepare`` may change the network before it is wrapped (the reference test mode);
        ``features``: the clusters a feature-encoder model paints (see ``choose_features``)."""
        from translate import checkpoint as ckpt
        from translate.interop.loading import load_generator

        path = Path(path).expanduser()
        meta = ckpt.read_metadata(path) if path.is_dir() else None  # read once, for both
        net, spec = load_generator(path, direction, metadata=meta)
        metadata: Dict[str, Any] = {}
        if meta is not None:
            metadata = {"step": meta.get("step"), "directions": list(meta.get("generators", {}))}
        if prepare is not None:
            net = prepare(net)
        return cls(net, spec, path, metadata, device, precision, tile, tile_overlap, on_message, features=features)

    @classmethod
    def of_network(cls, net: nn.Module, in_channels: int = 3, out_channels: int = 3, size_multiple: int = 1,
                   device: Optional[str] = None, precision: Optional[str] = None, tile: Union[str, int] = "off",
                   preprocess: Optional[Mapping[str, Any]] = None) -> "Model":
        """A Model around a bare network that reads RGB images (research code, tests): no file, no
        declared capabilities, so the size multiple is given."""
        spec = GeneratorSpec("custom", in_channels, out_channels, {}, dict(preprocess or {}), "", DEFAULT_DIRECTION)
        return cls(net, spec, None, None, device, precision, tile, size_multiple=size_multiple)

    # -- what it is ---------------------------------------------------------------------------
    @property
    def preprocess(self) -> Dict[str, Any]:
        return dict(self.spec.preprocess or {})

    @property
    def input_kind(self) -> str:
        """What the generator reads: ``rgb`` images, ``label`` maps, ... (its checkpoint says)."""
        return self.spec.input_kind

    @property
    def feature_clusters(self) -> Optional[FeatureClusters]:
        """The clusters of pix2pixHD's feature encoder this label model was trained with, else None."""
        return feature_clusters(self.preprocess) if self.input_kind == "label" else None

    def choose_features(self, choice: Any) -> "Model":
        """Which cluster each label's objects take: ``"26=3,24=1"`` or ``{26: 3}`` (unnamed labels:
        cluster 0, the commonest), ``"random"``, or a ``FeatureChoice``. Refused, naming the
        clusters there are, for a model without them or a cluster a label does not have."""
        choice = FeatureChoice.of(choice)
        clusters = self.feature_clusters
        if clusters is None:
            if choice != FeatureChoice():
                raise InvalidSettingError(f"--features: this {self.spec.translator or 'model'} model was not trained "
                                          f"with pix2pixHD's feature encoder (train with --set features=instance)")
            return self
        choice.check(clusters)
        self.feature_choice = choice
        self._encoder = None  # rebuilt with the new choice on the next read
        return self

    @property
    def metadata(self) -> Dict[str, Any]:
        """Translator, architecture, direction, options and training step, as saved with the weights."""
        return {"translator": self.spec.translator, "architecture": self.spec.architecture,
                "direction": self.spec.direction, "in_channels": self.spec.in_channels,
                "out_channels": self.spec.out_channels, "options": dict(self.spec.kwargs),
                "preprocess": self.preprocess, **self._metadata}

    @property
    def directions(self) -> List[str]:
        """Every direction the source holds (``AtoB``, ``BtoA``, ...); ``load(path, direction)`` picks one."""
        return list(self._metadata.get("directions", [self.spec.direction]))

    def describe(self) -> str:
        """One line for a log: what runs where."""
        return (f"{self.spec.translator or 'model'} {self.spec.direction} ({self.spec.architecture}) on "
                f"{self.device}, {precision_name(self.dtype)}")

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

    def bytes_per_pixel(self) -> float:
        """Activation bytes per input pixel of a whole pass (measured once on a small probe, as
        tiling does); 0.0 when it cannot be measured."""
        return self.net.bytes_per_pixel(self.spec.in_channels, self.device)  # the one tiling decides by

    def memory_for(self, height: int, width: int, frames: int = 1) -> Tuple[bool, int, Optional[int]]:
        """(fits, needed bytes, available bytes) for a whole pass of ``frames`` images of this size,
        by the activation estimate tiling uses (fits is True when nothing can be told)."""
        per_pixel = self.bytes_per_pixel()
        if not per_pixel:
            return True, 0, None
        return fits(per_pixel, int(height) * int(width) * int(frames), self.device)

    # -- tensors and frames: the two primitives everything else is built from ------------------
    def run(self, x: torch.Tensor) -> torch.Tensor:
        """NCHW float in [-1, 1] (any device) -> NCHW float32 in [-1, 1] on the model's device,
        same H and W: padded to the size multiple, whole or tiled, under the model's autocast."""
        return translate_tensor(self.net, x.to(self.device, torch.float32), self.multiple, self.dtype)

    def frames(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """N same-size HxWx3 uint8 RGB frames -> N translated HxWx3 uint8 frames (grey output is
        repeated to RGB, for encoders). Frames travel to the device as uint8."""
        x = frames_to_batch(frames, self.device, self.spec.in_channels)
        return list(batch_to_frames(self.run(x)))

    # -- files: what apply's batches read through ----------------------------------------------
    @property
    def encoder(self) -> InputEncoder:
        """How this model's input files are read (``translate.apply.inputs``): RGB images or label
        maps. Models of other input kinds (pose sequences) are run by their pipeline, not on files."""
        if self._encoder is None:
            if self.input_kind not in ENCODERS:
                raise UsageError(f"this {self.spec.translator or 'model'} model reads {self.input_kind} inputs, "
                                 f"not image files: run it through its pipeline (see `translate --help`)")
            self._encoder = input_encoder(self.preprocess, self.spec.in_channels, self.feature_choice)
        return self._encoder

    def read(self, path: Path, size: Optional[int] = None, max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray:
        """A file as the compact array this model's encoder batches (uint8 pixels or int32 ids);
        over ``max_pixels`` is refused from the header, before decoding."""
        return self.encoder.read(path, size, max_pixels)

    def to_batch(self, arrays: Sequence[np.ndarray]) -> torch.Tensor:
        return self.encoder.to_batch(arrays)

    def translate_file(self, path: PathLike, size: Optional[int] = None,
                       max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray:
        """One input file read as apply reads it (an image, or a label map for label-map models)
        -> the translation as HxWxC uint8, at the file's size or ``size`` (long side)."""
        x = self.to_batch([self.read(Path(path), size, max_pixels)])
        return from_unit(self.run(x))[0].permute(1, 2, 0).cpu().numpy()

    # -- the Python API's kinds ------------------------------------------------------------------
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
            y = self.run(batch)
        except (RuntimeError, ValueError) as exc:  # e.g. instance norm or reflect padding on a 2x2 image
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
        if self.input_kind != "rgb":
            raise UsageError(f"this {self.spec.translator} model reads {self.input_kind} inputs, "
                             f"not images: use `translate apply` on its files")
        image = convert_channels(image[..., :3], self.spec.in_channels)  # alpha is not translated
        x = to_unit(torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1))
        return from_unit(self._tensor(x)).permute(1, 2, 0).cpu().numpy()

    # -- video and folders -----------------------------------------------------------------------
    def translate_video(self, source: PathLike, destination: PathLike, batch_size: int = 4, progress: bool = True,
                        on_frames: Optional[Callable[[int], None]] = None,
                        on_message: Message = lambda m: print(m, file=sys.stderr),
                        **options: Any) -> VideoResult:
        """Translate a video file, frames streamed and the audio kept; ``options`` are ``VideoOptions``
        fields (size, fps, side_by_side, temporal, codec, crf, ...). ``progress`` draws a bar on
        stderr; ``on_frames(n)`` hears every batch of ``n`` frames written (for a page's progress bar)."""
        known = {f.name for f in dataclasses.fields(VideoOptions)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidSettingError(f"unknown video option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return translate_video(Path(source), Path(destination), self.frames,
                               VideoOptions(batch_size=batch_size, **options), progress=progress,
                               on_message=on_message, overall=_FrameCallback(on_frames) if on_frames else None)

    def translate_folder(self, source: PathLike, destination: PathLike, batch_size: int = 4,
                         overwrite: bool = False, progress: bool = True) -> BatchReport:
        """Translate every image and video under ``source`` into ``destination`` (the tree mirrored);
        returns the report of written, skipped and failed files."""
        options = BatchOptions(batch_size=batch_size, overwrite=overwrite, video=VideoOptions(batch_size=batch_size))
        return self.translate_plan(plan_batch(Path(source), Path(destination)), options, progress=progress)

    def translate_plan(self, plan: Plan, options: BatchOptions,
                       on_message: Message = lambda m: print(m, file=sys.stderr),
                       progress: bool = True) -> BatchReport:
        """``translate apply``'s batch over planned pairs (nothing over an input): images batched by
        size, then videos streamed; bad files and the plan's problems are listed, not raised."""
        report = run_batch(self, plan.pairs, options, on_message, progress)
        report.failed[:0] = plan.problems
        return report


class _FrameCallback:
    """Stands in for the video pipeline's overall progress bar (it calls update and close)."""

    def __init__(self, on_frames: Callable[[int], None]):
        self.on_frames = on_frames

    def update(self, n: int = 1) -> None:
        self.on_frames(n)

    def close(self) -> None:
        pass


def _is_pil(image: Any) -> bool:
    return type(image).__module__.startswith("PIL.")


def _squeeze_grey(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.shape[2] == 1 else image


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


def _check_image_size(height: int, width: int) -> None:
    if height < MIN_SIDE or width < MIN_SIDE:
        raise DataError(f"cannot translate a {width}x{height} image: both sides must be at least {MIN_SIDE} pixels")
