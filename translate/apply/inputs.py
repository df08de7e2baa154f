"""How ``apply`` turns an input file into the tensor a generator was trained on.

The generator's checkpoint says which encoder to use (``spec.preprocess["input"]``):

* ``rgb`` (the default, every pix2pix/CycleGAN model): ``read_image`` with the generator's
  channel count, scaled to [-1, 1]. ``--size`` resizes with area/cubic interpolation.
* ``label``: an integer label-map PNG, one-hot encoded with the checkpoint's ``num_classes``,
  plus the instance-boundary channel when the model was trained with instance maps. The
  instance map is found next to the label map by pix2pixHD's conventions (``test_label/x.png``
  -> ``test_inst/x.png``, ``*_labelIds.png`` -> ``*_instanceIds.png``); without one, the label
  map's own class boundaries stand in (the instance map of a "stuff" region is its class id).
  ``--size`` resizes nearest-neighbour only: ids are never interpolated. A model trained with
  pix2pixHD's feature encoder also reads a code per object: its label's chosen cluster
  (``FeatureChoice``, ``--features``), painted over the object (translate.data.feature_clusters).

An encoder splits the work in two so reading can run in background threads and batching can
group same-size inputs: ``read(path, size)`` -> a compact HxWxC numpy array (uint8 pixels or
int32 ids); ``to_batch(arrays)`` -> NCHW float32 network input.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Protocol, Sequence

import cv2
import numpy as np
import torch

from translate.data.feature_clusters import FeatureChoice, FeatureClusters, feature_map
from translate.data.io import MAX_PIXELS, read_image, resize_long_side
from translate.pixels import to_unit
from translate.data.labels import (LabelError, check_label_ids, encode_labels, find_instance_map, read_label_map,
                                   stack_ids)


class InputEncoder(Protocol):
    def read(self, path: Path, size: Optional[int], max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray: ...

    def to_batch(self, arrays: Sequence[np.ndarray]) -> torch.Tensor: ...


def _long_side(h: int, w: int, size: int) -> tuple[int, int]:
    scale = size / max(h, w)
    return max(1, round(w * scale)), max(1, round(h * scale))


@dataclass
class RGBInput:
    """Ordinary images (photos, edges, poses, sketches) in [-1, 1]."""

    channels: int = 3

    def read(self, path: Path, size: Optional[int], max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray:
        """Larger than ``max_pixels`` is refused from the header, before decoding."""
        image = read_image(path, channels=self.channels, max_pixels=max_pixels)
        if size:
            image = resize_long_side(image, size)
        return image

    def to_batch(self, arrays: Sequence[np.ndarray]) -> torch.Tensor:
        # contiguous(): a permuted NHWC array is channels_last in memory, and convolutions would
        # follow that layout, which measured slower than NCHW on CPU (see tools/BENCHMARKS.md, tools/bench_apply.py).
        return to_unit(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous())


@dataclass
class LabelInput:
    """Integer label maps -> one-hot (+ instance boundaries), as the model saw them in training."""

    num_classes: int
    instance_maps: bool = False
    features: Optional[FeatureClusters] = None  # the feature encoder's clusters, for models trained with it
    features_per: str = "instance"  # the objects a code covers: instances, or whole label regions
    choice: FeatureChoice = FeatureChoice()

    @property
    def _reads_instances(self) -> bool:
        return self.instance_maps or (self.features is not None and self.features_per == "instance")

    def read(self, path: Path, size: Optional[int], max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray:
        label = read_label_map(path, max_pixels)
        check_label_ids(label, self.num_classes, path)
        instances = None
        if self._reads_instances:
            inst_path = find_instance_map(path)
            instances = label if inst_path is None else read_label_map(inst_path, max_pixels)
            if instances.shape != label.shape:
                raise LabelError(inst_path, f"size {instances.shape[1]}x{instances.shape[0]} differs from the "
                                            f"label map {path} ({label.shape[1]}x{label.shape[0]})")
        ids = stack_ids(label, instances)
        if size:
            # Nearest only: interpolating ids would invent classes that are not there.
            resized = cv2.resize(ids, _long_side(*ids.shape[:2], size), interpolation=cv2.INTER_NEAREST)
            ids = resized.reshape(resized.shape[:2] + (ids.shape[2],))
        return ids

    def to_batch(self, arrays: Sequence[np.ndarray]) -> torch.Tensor:
        ids = torch.from_numpy(np.stack(arrays)).long()  # N,H,W,C
        instances = ids[..., 1] if self._reads_instances else None
        encoded = encode_labels(ids[..., 0], self.num_classes, instances if self.instance_maps else None)
        if self.features is None:
            return encoded
        objects = instances if self.features_per == "instance" else ids[..., 0]
        return torch.cat([encoded, feature_map(ids[..., 0], objects, self.features, self.choice)], 1)


def _rgb(preprocess: Mapping[str, Any], in_channels: int, choice: FeatureChoice) -> InputEncoder:
    return RGBInput(channels=int(preprocess.get("channels", in_channels)))


def _label(preprocess: Mapping[str, Any], in_channels: int, choice: FeatureChoice) -> InputEncoder:
    record = preprocess.get("features")
    features = feature_clusters(preprocess)
    if features is not None:
        choice.check(features)
    return LabelInput(num_classes=int(preprocess["num_classes"]), instance_maps=bool(preprocess.get("instance_maps")),
                      features=features, features_per=str((record or {}).get("per", "instance")), choice=choice)


ENCODERS: Dict[str, Callable[..., InputEncoder]] = {"rgb": _rgb, "label": _label}


def feature_clusters(preprocess: Optional[Mapping[str, Any]]) -> Optional[FeatureClusters]:
    """The feature encoder's clusters a label model carries, or None (every other model)."""
    record = (preprocess or {}).get("features")
    return FeatureClusters.from_record(record) if record else None


def input_encoder(preprocess: Optional[Mapping[str, Any]], in_channels: int,
                  choice: FeatureChoice = FeatureChoice()) -> InputEncoder:
    """The encoder a checkpoint asks for (``preprocess`` is its ``GeneratorSpec.preprocess``);
    ``choice``: the clusters a feature-encoder model paints (refused when it has no such cluster)."""
    preprocess = preprocess or {}
    kind = preprocess.get("input", "rgb")
    try:
        make = ENCODERS[kind]
    except KeyError:
        raise ValueError(f"checkpoint asks for input kind {kind!r}; known: {', '.join(ENCODERS)}") from None
    return make(preprocess, in_channels, choice)
