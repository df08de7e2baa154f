"""The published pretrained generators: names, official URLs, and what their files must be.

URLs are those of the reference repository's ``scripts/download_cyclegan_model.sh`` and
``scripts/download_pix2pix_model.sh`` (``<base>/<name>.pth``, plain HTTP as published), and
the Google Drive link of pix2pixHD's README for ``label2city``.
Neither the scripts nor the project pages publish checksums or sizes, so ``sha256`` and
``size`` are ``None`` here: a download is then verified by what it must contain instead,
the exact key layout and shapes of its ``architecture`` (``translate.interop.layouts``),
and ``translate download`` prints the file's SHA-256 so a user can pin it (``--sha256``).
Filling a checksum in below makes every later download check it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from translate.registry import Registry

CYCLEGAN_BASE = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models"
PIX2PIX_BASE = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch"


@dataclass(frozen=True)
class PublishedModel:
    name: str  # what `translate download NAME` takes; also the run folder's name
    url: str
    filename: str  # the published file name, kept in the run folder as downloaded
    translator: str  # the method that trained it
    architecture: str  # the toolkit generator its layout must be recognised as
    kwargs: Dict[str, Any] = field(default_factory=dict)  # the layout's expected generator options
    in_channels: int = 3
    out_channels: int = 3
    summary: str = ""
    sha256: Optional[str] = None  # unknown unless filled in (none is published)
    size: Optional[int] = None  # bytes; unknown unless filled in
    manual: bool = False  # the host needs a browser (e.g. Google Drive): the user places the file
    preprocess: Dict[str, Any] = field(default_factory=dict)  # how apply encodes inputs (label maps ...)


PUBLISHED = Registry("published model")
_ALIASES: Dict[str, str] = {}


def _add(model: PublishedModel, *aliases: str) -> None:
    PUBLISHED.register(model.name)(model)
    for alias in aliases:
        _ALIASES[alias] = model.name


_CYCLEGAN = {
    "apple2orange": "apples -> oranges", "orange2apple": "oranges -> apples",
    "summer2winter_yosemite": "Yosemite summer -> winter", "winter2summer_yosemite": "Yosemite winter -> summer",
    "horse2zebra": "horses -> zebras", "zebra2horse": "zebras -> horses",
    "monet2photo": "Monet paintings -> photos", "style_monet": "photos -> Monet style",
    "style_cezanne": "photos -> Cezanne style", "style_ukiyoe": "photos -> Ukiyo-e style",
    "style_vangogh": "photos -> Van Gogh style", "sat2map": "satellite -> map (CycleGAN)",
    "map2sat": "map -> satellite (CycleGAN)", "cityscapes_photo2label": "street photo -> label colours",
    "cityscapes_label2photo": "label colours -> street photo", "facades_photo2label": "facade photo -> labels",
    "facades_label2photo": "facade labels -> photo (CycleGAN)", "iphone2dslr_flower": "phone flower photo -> DSLR look",
}
for _name, _summary in _CYCLEGAN.items():
    _add(PublishedModel(
        _name, f"{CYCLEGAN_BASE}/{_name}.pth", f"{_name}.pth", "cyclegan", "resnet_9blocks",
        {"ngf": 64, "norm": "instance"}, summary=_summary,
    ))

_PIX2PIX = {
    "edges2shoes": "edge map -> shoe photo", "sat2map": "satellite -> map (pix2pix)",
    "map2sat": "map -> satellite (pix2pix)", "facades_label2photo": "facade labels -> photo (pix2pix)",
    "day2night": "day -> night scene",
}
for _name, _summary in _PIX2PIX.items():
    _add(
        PublishedModel(
            f"pix2pix_{_name}", f"{PIX2PIX_BASE}/{_name}.pth", f"{_name}.pth", "pix2pix", "unet_256",
            {"ngf": 64, "norm": "batch"}, summary=_summary,
        ),
        # Names only pix2pix publishes may be given without the prefix.
        *([_name] if _name not in _CYCLEGAN else []),
    )


# pix2pixHD's Cityscapes model (README of NVIDIA/pix2pixHD): a Google Drive file that needs a
# browser, so `translate download label2city` says where to put it; test_1024p.sh runs it as
# --netG local --ngf 32 --resize_or_crop none with 35 label classes plus the instance-edge channel.
_add(
    PublishedModel(
        "label2city", "https://drive.google.com/file/d/1h9SykUnuZul7J3Nbms2QGH1wa85nbN2-/view?usp=sharing",
        "latest_net_G.pth", "pix2pixhd", "pix2pixhd_local",
        {"ngf": 32, "n_downsampling": 4, "n_blocks": 9, "n_enhancers": 1, "n_blocks_local": 3, "norm": "instance"},
        in_channels=36, summary="Cityscapes label map (+ instance map) -> street photo, 2048x1024", manual=True,
        preprocess={"input": "label", "num_classes": 35, "instance_maps": True},
    ),
    "label2city_1024p",
)


def published(name: str) -> PublishedModel:
    """The entry for ``name`` (or an alias); unknown names fail with close suggestions."""
    return PUBLISHED.get(_ALIASES.get(name, name))


def published_models() -> List[PublishedModel]:
    return [PUBLISHED.get(n) for n in PUBLISHED.names()]
