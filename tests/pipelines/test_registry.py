"""Pipelines declare themselves: what they take, the kind of model they run, how they run.

Every registered pipeline is checked against the contract by being registered (the parametrised
tests below run over ``list_pipelines()``); serve's tests run the declarations end to end.
"""
import subprocess
import sys

import pytest

from translate.pipelines.registry import (FACE, IMAGE, KIND_NAMES, MEDIA, MODEL_KINDS, POSE_SEQUENCE, VIDEO, Input,
                                          Pipeline, get_pipeline, list_pipelines, model_kind, pipelines_for,
                                          register_pipeline)
from translate.registry import TRANSLATORS, UnknownNameError

NAMES = [p.name for p in list_pipelines()]


def _noop(job) -> str:
    return "done"


def test_the_shipped_pipelines_are_registered_with_what_they_need():
    assert {"dance", "faceswap"} <= set(NAMES)
    dance, faceswap = get_pipeline("dance"), get_pipeline("faceswap")
    assert (dance.model, dance.media, dance.stages) == (POSE_SEQUENCE, (VIDEO,), ("face",))
    assert (faceswap.model, faceswap.media) == (FACE, (VIDEO, IMAGE))
    assert dance.wanted() == "a video of someone dancing"  # serve's refusal: "dance takes a video of ..."
    assert [p.name for p in pipelines_for(FACE)] == ["faceswap"] and pipelines_for(IMAGE) == []


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_pipeline_keeps_the_contract(name):
    p = get_pipeline(name)
    assert p.name == name and name.isidentifier()
    assert p.title and p.summary and "\n" not in p.summary
    assert p.inputs and all(i.media in MEDIA and i.label for i in p.inputs)
    assert p.model in KIND_NAMES and callable(p.run)
    assert p.run.__module__.startswith("translate.pipelines.")  # declared beside its code, in one file
    assert not set(p.stages) & {"AtoB", "BtoA"}  # a stage is never a direction the user picks
    if p.how_to_train:  # the command it suggests for an empty menu exists
        words = p.how_to_train.split()
        assert words[:2] == ["translate", "train"] and words[2] in TRANSLATORS.declared, p.how_to_train


@pytest.mark.parametrize("translator, preprocess, kind", [
    ("pose2frame", {"input": "pose_sequence", "temporal": True}, POSE_SEQUENCE),
    ("faceswap", {"size": 64, "faces": True}, FACE),
    ("faceswap", {}, FACE),  # an older faceswap checkpoint without the flag
    ("pix2pix", {"faces": True}, FACE),  # any run trained on aligned face crops
    ("pix2pix", {"faces": False}, IMAGE),
    ("cyclegan", {}, IMAGE),
    ("pix2pixhd", {"input": "label", "num_classes": 35}, IMAGE),
    ("", None, IMAGE),  # a bare file that names nothing
])
def test_a_checkpoints_kind_comes_from_what_it_declares(translator, preprocess, kind):
    assert model_kind(translator, preprocess) == kind


def test_kinds_are_one_table():
    assert KIND_NAMES == (IMAGE, *(k.name for k in MODEL_KINDS)) and len(set(KIND_NAMES)) == len(KIND_NAMES)


@pytest.mark.parametrize("change, message", [
    ({"name": "face swap"}, "must be an identifier"),
    ({"model": "hologram"}, "model kind 'hologram' is not one of image, pose_sequence, face"),
    ({"inputs": ()}, "inputs must be one or more of video, image"),
    ({"inputs": (Input("audio", "a song"),)}, "inputs must be one or more of"),
    ({"run": "not a function"}, "run must be callable"),
])
def test_a_bad_declaration_is_refused_when_it_is_made(change, message):
    fields = dict(name="sketch", title="Sketch", summary="Draw it.", inputs=(Input(IMAGE, "a photo"),), model=IMAGE,
                  run=_noop)
    with pytest.raises(ValueError, match=message):
        Pipeline(**{**fields, **change})


def test_a_name_is_registered_once_and_an_unknown_one_suggests_close_names():
    twin = Pipeline("dance", "Dance again", "Twice.", (Input(VIDEO, "a video"),), POSE_SEQUENCE, _noop)
    with pytest.raises(ValueError, match="registered twice"):
        register_pipeline(twin)
    assert get_pipeline("dance") is not twin
    with pytest.raises(UnknownNameError, match="did you mean dance"):
        get_pipeline("danse")


def test_the_declarations_import_no_torch():
    code = "import sys\nimport translate.pipelines.registry\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
