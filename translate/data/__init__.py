"""data: reading images robustly, paired/unpaired datasets and the transforms both images share."""

from .datasets import LAYOUT_DATASETS, PairedDataset, UnpairedDataset, detect_layout
from .io import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    convert_channels,
    list_images,
    read_image,
    resize_long_side,
    to_image,
    to_tensor,
    write_image,
)
from .transforms import PREPROCESS_MODES, PreprocessConfig, build_transform, sample_seed

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "LAYOUT_DATASETS",
    "PREPROCESS_MODES",
    "PairedDataset",
    "PreprocessConfig",
    "UnpairedDataset",
    "build_transform",
    "convert_channels",
    "detect_layout",
    "list_images",
    "read_image",
    "resize_long_side",
    "sample_seed",
    "to_image",
    "to_tensor",
    "write_image",
]
