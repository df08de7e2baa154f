"""What A and B are for a model ("photo -> comic"), from what its run folder says about itself.

A menu of "demo_comic" with directions "AtoB" and "BtoA" makes the user guess. The names come
from the first source that has them, in ``SOURCES`` order: the checkpoint's own metadata, the
title of its TRAINING.md, then the dataset folder recorded in config.yaml or scores.json when it
is named like ``horse2zebra``; otherwise A and B. Nothing here fails: a missing or odd file is
one source fewer.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from translate.choices import DIRECTIONS

Domains = Tuple[str, str]
FALLBACK: Domains = ("A", "B")
_ARROW = re.compile(r"([A-Za-z][\w-]*) (?:<->|->|→|↔) ([A-Za-z][\w-]*)")
_PAIR_NAME = re.compile(r"^([A-Za-z][A-Za-z-]*?)(?:2|_to_|-to-)([A-Za-z][A-Za-z-]*)$")
_DATA_LINE = re.compile(r"^\s*data:\s*['\"]?([^'\"#\n]+?)['\"]?\s*(?:#.*)?$", re.MULTILINE)


def _from_metadata(folder: Path) -> Optional[Domains]:
    """``"domains": {"A": "photo", "B": "comic"}`` (or a two-item list) in translate.json."""
    try:
        found = json.loads((folder / "translate.json").read_text()).get("domains")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(found, dict):
        found = [found.get("A"), found.get("B")]
    if isinstance(found, list) and len(found) == 2 and all(isinstance(n, str) and n.strip() for n in found):
        return found[0].strip(), found[1].strip()
    return None


def _from_training_notes(folder: Path) -> Optional[Domains]:
    """The title of TRAINING.md: ``# The bundled demo model: photo -> cartoon (pix2pix)``."""
    try:
        title = next((line for line in (folder / "TRAINING.md").read_text(errors="replace").splitlines()
                      if line.startswith("#")), "")
    except OSError:
        return None
    match = _ARROW.search(title)
    return (match.group(1), match.group(2)) if match else None


def _from_dataset_name(folder: Path) -> Optional[Domains]:
    """A dataset folder named ``horse2zebra`` (config.yaml's ``data:``, else scores.json's)."""
    names: List[str] = []
    try:
        names += _DATA_LINE.findall((folder / "config.yaml").read_text(errors="replace"))
    except OSError:
        pass
    try:
        names.append(str(json.loads((folder / "scores.json").read_text()).get("data") or ""))
    except (OSError, ValueError, AttributeError):
        pass
    for name in names:
        match = _PAIR_NAME.match(Path(name.strip()).name)
        if match:
            return match.group(1), match.group(2)
    return None


SOURCES: List[Callable[[Path], Optional[Domains]]] = [_from_metadata, _from_training_notes, _from_dataset_name]


def read_domains(path: Path) -> Domains:
    """(name of A, name of B) for a run folder; A and B for a bare weights file or when unknown."""
    folder = Path(path)
    if not folder.is_dir():
        return FALLBACK
    for source in SOURCES:
        found = source(folder)
        if found:
            return found
    return FALLBACK


# AtoB reads from domain 0 to domain 1, BtoA the other way.
_DIRECTION_ENDS: Dict[str, Tuple[int, int]] = {DIRECTIONS[0]: (0, 1), DIRECTIONS[1]: (1, 0)}


def direction_label(direction: str, domains: Domains) -> str:
    """``AtoB`` -> ``photo -> comic``; a direction that is not A/B (a stage name) stays as it is."""
    ends = _DIRECTION_ENDS.get(direction)
    return f"{domains[ends[0]]} -> {domains[ends[1]]}" if ends else direction


def model_label(name: str, directions: List[str], domains: Domains) -> str:
    """The menu entry: ``demo_comic (photo <-> comic)``, or one arrow for a one-way model."""
    ways = [d for d in directions if d in _DIRECTION_ENDS]
    if not ways:
        return name
    if len(ways) == 2:
        return f"{name} ({domains[0]} <-> {domains[1]})"
    return f"{name} ({direction_label(ways[0], domains)})"
