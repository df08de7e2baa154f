"""What a pose dataset folder records beside its images, read in one place: the one job here.

``translate poses extract`` writes ``figure.json`` (how the stick figures were drawn, so
``translate dance`` draws a source video's figures the same way) and ``pose_stats.json`` (the
video's framing, for pose normalisation) next to ``train_A/`` and ``train_B/``. The pose2frame
translator receives them as a ``PoseDatasetRecord`` and copies them into its generator's
preprocess record, so a checkpoint carries them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

from translate.config import ConfigError

FIGURE_FILE, POSE_STATS_FILE = "figure.json", "pose_stats.json"


@dataclass(frozen=True)
class PoseDatasetRecord:
    """A pose dataset's figure style and pose statistics; None where the folder has no such file."""

    figure: Optional[Dict[str, Any]] = None  # figure.json: skeleton, drawing mode, min_confidence, ...
    pose_stats: Optional[Dict[str, Any]] = None  # pose_stats.json: the framing statistics of the video

    def preprocess(self) -> Dict[str, Any]:
        """The keys a generator's preprocess record carries: only those whose file the dataset has."""
        found = {"figure": self.figure, "pose_stats": self.pose_stats}
        return {key: value for key, value in found.items() if value is not None}


def _read_object(path: Path) -> Optional[Dict[str, Any]]:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        # A checkpoint recording anything else could not be loaded again (its preprocess check).
        raise ConfigError(f"{path}: must hold a JSON object, got {type(value).__name__}")
    return value


def dataset_record(root: Union[str, Path, None]) -> PoseDatasetRecord:
    """The figure style and pose statistics of the dataset at ``root`` (an empty record without a folder)."""
    if not root:
        return PoseDatasetRecord()
    root = Path(root)
    return PoseDatasetRecord(figure=_read_object(root / FIGURE_FILE), pose_stats=_read_object(root / POSE_STATS_FILE))
