"""What a generator's ``preprocess`` may say: the input kind, and the fields that kind needs.

apply, the pipelines, serve and eval read these fields (``input``, ``num_classes``, ``channels``,
``size`` ...) to encode files the way training did. They are checked here, once, when a spec is
read (``GeneratorSpec.from_dict``), so every loader refuses ``input: label`` without
``num_classes`` or ``channels: "abc"`` in one line instead of failing deep inside a reader.
The ranges come from where the values are set: the training config's rules (``size``,
``load_size``, ``channels``) and the generator itself (a label map's classes fill its channels).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

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
    """Label maps, one-hot over ``num_classes`` plus one instance-boundary channel with ``instance_maps``."""
    _check_type(pre, "instance_maps", bool, where)
    _check_int(pre, "num_classes", Rule(1, in_channels), where, required=True)
    if pre["num_classes"] + int(pre.get("instance_maps", False)) != in_channels:
        raise _problem(where, "num_classes", pre["num_classes"],
                       f"(+1 with instance_maps) must make the generator's in_channels ({in_channels})")


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
