"""What a generator's ``preprocess`` may say: the input kind, and the fields that kind needs.

apply, the pipelines, serve and eval read these fields (``input``, ``num_classes``, ``channels``,
``size`` ...) to encode files the way training did. They are checked here, once, when a spec is
read (``GeneratorSpec.from_dict``), so every loader refuses ``input: label`` without
``num_classes`` or ``channels: "abc"`` in one line instead of failing deep inside a reader.
The ranges come from where the values are set: the training config's rules (``size``,
``load_size``, ``channels``) and the generator itself (a label map's classes fill its channels).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional

from translate.config import Rule, TrainConfig
from translate.model_files.bounds import CheckpointError
from translate.registry import Registry, UnknownNameError

# The input kinds a spec may name, each with the check of the fields it needs. apply's encoders
# (translate.apply.inputs.ENCODERS) and the pose pipelines read these kinds;
# tests/test_trust_model_files.py keeps this registry and theirs the same.
PreprocessCheck = Callable[[Mapping[str, Any], int, str], None]
INPUT_KINDS = Registry("input kind")


def _problem(where: str, key: str, value: Any, problem: str) -> CheckpointError:
    return CheckpointError(f"{where}: preprocess {key!r} {problem}, got {str(value)[:80]!r}")


def _check_int(pre: Mapping[str, Any], key: str, rule: Rule, where: str, required: bool = False) -> None:
    if pre.get(key) is None:
        if required:
            raise CheckpointError(f"{where}: preprocess lacks {key!r}, which input {pre.get('input')!r} needs")
        return
    value = pre[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _problem(where, key, value, "must be a whole number")
    problem = rule.problem(value)
    if problem:
        raise _problem(where, key, value, problem)


def _check_type(pre: Mapping[str, Any], key: str, kind: type, where: str) -> None:
    if key in pre and not isinstance(pre[key], kind):
        raise _problem(where, key, pre[key], "must be true or false" if kind is bool else f"must be a {kind.__name__}")


@INPUT_KINDS.register("rgb")
def _rgb_input(pre: Mapping[str, Any], in_channels: int, where: str) -> None:
    """Images read with ``channels`` channels (translate.apply.inputs.RGBInput), the training config's choices."""
    _check_int(pre, "channels", TrainConfig.RULES["channels_a"], where)
    if pre.get("channels") not in (None, in_channels):
        raise _problem(where, "channels", pre["channels"], f"must be the generator's in_channels ({in_channels})")


@INPUT_KINDS.register("label")
def _label_input(pre: Mapping[str, Any], in_channels: int, where: str) -> None:
    """Label maps, one-hot over ``num_classes`` plus one instance-boundary channel with ``instance_maps``,
    plus the feature encoder's code channels with ``features`` (translate.data.feature_clusters)."""
    _check_type(pre, "instance_maps", bool, where)
    _check_int(pre, "num_classes", Rule(1, in_channels), where, required=True)
    codes = 0
    if "features" in pre:
        problem = _features_problem(pre["features"], pre["num_classes"])
        if problem:
            raise CheckpointError(f"{where}: preprocess 'features': {problem}")
        codes = pre["features"]["channels"]
    if pre["num_classes"] + int(pre.get("instance_maps", False)) + codes != in_channels:
        raise _problem(where, "num_classes", pre["num_classes"], f"(+1 with instance_maps, + the feature channels) "
                                                                 f"must make the generator's in_channels ({in_channels})")


_FEATURES_PER = ("instance", "label")
_MAX_CENTRES = 1000  # per label; pix2pixHD makes 10


def _features_problem(record: Any, num_classes: int) -> Optional[str]:
    """What is wrong with a label model's ``features`` record (channels, per, clusters), or None."""
    if not isinstance(record, Mapping):
        return "must be a mapping"
    channels = record.get("channels")
    if not isinstance(channels, int) or isinstance(channels, bool) or not 1 <= channels <= 64:
        return f"'channels' must be a whole number 1-64, got {str(channels)[:40]!r}"
    if record.get("per", "instance") not in _FEATURES_PER:
        return f"'per' must be one of {', '.join(_FEATURES_PER)}, got {str(record.get('per'))[:40]!r}"
    clusters = record.get("clusters", {})
    if not isinstance(clusters, Mapping):
        return "'clusters' must be a mapping of label -> centres"
    for label, rows in clusters.items():
        if not str(label).isdigit() or int(label) >= num_classes:
            return f"cluster label {str(label)[:20]!r} is not a class id below num_classes ({num_classes})"
        if not isinstance(rows, list) or not 1 <= len(rows) <= _MAX_CENTRES:
            return f"label {label}: centres must be a list of 1-{_MAX_CENTRES} vectors"
        for row in rows:
            if not isinstance(row, list) or len(row) != channels or not all(_finite(v) for v in row):
                return f"label {label}: every centre must be {channels} finite numbers"
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@INPUT_KINDS.register("pose_sequence")
def _pose_sequence_input(pre: Mapping[str, Any], in_channels: int, where: str) -> None:
    """Stick-figure sequences (translate.pipelines.dance): figure channels, pose statistics, temporal."""
    _check_int(pre, "figure_channels", Rule(1, in_channels), where)
    _check_type(pre, "temporal", bool, where)
    for key in ("figure", "pose_stats"):
        _check_type(pre, key, dict, where)


@INPUT_KINDS.register("pose_face")
def _pose_face_input(pre: Mapping[str, Any], in_channels: int, where: str) -> None:
    """The face generator of pose2frame: a ``face_size`` square around the head (its config's range)."""
    _check_int(pre, "face_size", Rule(8, 16384), where, required=True)


def check_preprocess(pre: Any, in_channels: int, where: str) -> None:
    """Every field of ``pre`` that apply and the pipelines read, of the type and range they use."""
    if not isinstance(pre, dict):
        raise CheckpointError(f"{where}: preprocess must be a mapping, got {type(pre).__name__}")
    kind = pre.get("input", "rgb")
    if not isinstance(kind, str):
        raise _problem(where, "input", kind, "must be a name")
    try:
        check: PreprocessCheck = INPUT_KINDS.get(kind)
    except UnknownNameError as exc:
        raise CheckpointError(f"{where}: preprocess 'input': {exc}") from None
    _check_int(pre, "size", TrainConfig.RULES["size"], where)
    _check_int(pre, "load_size", TrainConfig.RULES["load_size"], where)
    _check_type(pre, "mode", str, where)
    _check_type(pre, "faces", bool, where)
    check(pre, in_channels, where)
