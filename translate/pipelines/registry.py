"""What a pipeline is, as data: the inputs it takes, the kind of model it runs, and how it runs.

A pipeline module declares itself at its end and registers the declaration::

    register_pipeline(Pipeline(
        name="dance", title="Dance", summary="The checkpoint's person does the moves of the video's.",
        inputs=(Input(VIDEO, "a video of someone dancing"),), model=POSE_SEQUENCE, run=serve_dance,
        stages=("face",), how_to_train="translate train pose2frame"))

``translate serve`` builds one tab per registered pipeline from that declaration (its model menu
lists the checkpoints of ``model``'s kind, its upload takes ``inputs``) and calls ``run`` with a
``PipelineJob``; nothing in serve names a pipeline. So a new pipeline is one file: its code and
its declaration. A new *kind of checkpoint* is one row of ``MODEL_KINDS``.

This module imports no torch: the declarations can be read (listed, checked) cheaply; the
registry fills itself by importing ``translate.pipelines``' modules on the first lookup.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from translate.registry import Registry

# --- what a checkpoint is, from what it declares ------------------------------------------------

IMAGE, FACE, POSE_SEQUENCE = "image", "face", "pose_sequence"


@dataclass(frozen=True)
class ModelKind:
    """A kind of checkpoint, recognised from what its metadata says: the preprocess ``input`` it
    reads, the translator that trained it, or a true preprocess flag. Any one of them is enough."""

    name: str
    summary: str
    inputs: Tuple[str, ...] = ()  # preprocess "input" values (model_files.preprocess.INPUT_KINDS)
    translators: Tuple[str, ...] = ()
    flags: Tuple[str, ...] = ()

    def matches(self, translator: Optional[str], preprocess: Mapping[str, Any]) -> bool:
        return (preprocess.get("input") in self.inputs or (translator or "") in self.translators
                or any(preprocess.get(flag) for flag in self.flags))


# First match wins; a checkpoint no row matches is an IMAGE model (images in, images out).
MODEL_KINDS: Tuple[ModelKind, ...] = (
    ModelKind(POSE_SEQUENCE, "stick-figure sequences in, frames out (pose2frame)", inputs=("pose_sequence",)),
    ModelKind(FACE, "aligned face crops in and out (faceswap, or any run trained on face crops)",
              translators=("faceswap",), flags=("faces",)),
)
KIND_NAMES: Tuple[str, ...] = (IMAGE, *(kind.name for kind in MODEL_KINDS))


def model_kind(translator: Optional[str], preprocess: Optional[Mapping[str, Any]]) -> str:
    """The kind of a checkpoint trained by ``translator`` with this preprocess record."""
    preprocess = preprocess or {}
    return next((kind.name for kind in MODEL_KINDS if kind.matches(translator, preprocess)), IMAGE)


# --- what a pipeline takes and what it is given -----------------------------------------------

VIDEO = "video"  # media a pipeline can take, besides IMAGE (a photo)
MEDIA: Tuple[str, ...] = (VIDEO, IMAGE)


@dataclass(frozen=True)
class Input:
    """One kind of upload a pipeline takes: ``media`` (VIDEO or IMAGE) and what it should show,
    in words for the page (``a video of someone dancing``)."""

    media: str
    label: str


@dataclass(frozen=True)
class Pick:
    """One thing the user picks for a run besides the upload, as a line of text: who in the video
    (``largest``, ``centre`` or an ID from a preview). ``label`` names it on the page and in a
    refusal; ``hint`` says what may be typed; ``default`` is what an empty field means."""

    label: str
    hint: str
    default: str


@dataclass
class PipelineJob:
    """One run of a pipeline on one upload, as serve hands it over.

    ``model`` is the loaded inference object (what ``translate.load`` returns: ``generator``,
    ``spec``, ``device``, ``dtype``), already on its device and precision; ``checkpoint`` is the
    run folder or file it came from, for pipelines that load more ``stages`` from it. The result
    goes to ``destination`` (``.mp4`` for a video, ``.png`` for a photo)."""

    model: Any
    checkpoint: Path
    source: Path
    destination: Path
    choice: str = ""  # the user's answer to the pipeline's Pick; empty = its default

    def chosen(self, pick: Optional["Pick"]) -> str:
        """The answer to ``pick``: what was typed, or its default when nothing was."""
        return (self.choice or "").strip() or (pick.default if pick else "")


Run = Callable[[PipelineJob], str]  # -> one line saying what was done; raises TranslateError on failure


@dataclass(frozen=True)
class Pipeline:
    """A multi-stage job declared as data; ``translate serve`` makes a tab of it."""

    name: str  # an identifier: the tab's id, the results' file names, the refusals ("dance takes ...")
    title: str  # the tab's title ("Face swap")
    summary: str  # one line under the title: what it does
    inputs: Tuple[Input, ...]  # what the user may upload, in the order the page offers them
    model: str  # the kind of checkpoint it runs (IMAGE or a MODEL_KINDS name)
    run: Run
    stages: Tuple[str, ...] = ()  # other generators of the same run folder it loads itself: not directions
    how_to_train: str = ""  # the command that makes a checkpoint of its kind, for an empty menu
    pick: Optional[Pick] = None  # what the page asks beside the upload (who dances, which face)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"pipeline name {self.name!r} must be an identifier")
        if self.model not in KIND_NAMES:
            raise ValueError(f"pipeline {self.name}: model kind {self.model!r} is not one of {', '.join(KIND_NAMES)}")
        if not self.inputs or any(i.media not in MEDIA for i in self.inputs):
            raise ValueError(f"pipeline {self.name}: inputs must be one or more of {', '.join(MEDIA)}")
        if not callable(self.run):
            raise ValueError(f"pipeline {self.name}: run must be callable")

    @property
    def media(self) -> Tuple[str, ...]:
        """The media it takes, each once, in the order of ``inputs``."""
        return tuple(dict.fromkeys(i.media for i in self.inputs))

    def takes(self, media: str) -> bool:
        return media in self.media

    def wanted(self) -> str:
        """What it takes, in words: ``a video with a face or a photo with a face``."""
        return " or ".join(i.label for i in self.inputs)


PIPELINES = Registry("pipeline", discover="translate.pipelines")


def register_pipeline(pipeline: Pipeline) -> Pipeline:
    """Add a declaration to the registry (a second one of the same name is refused)."""
    PIPELINES.register(pipeline.name)(pipeline)
    return pipeline


def get_pipeline(name: str) -> Pipeline:
    """The declaration registered as ``name``; ``UnknownNameError`` (one line, close names) if none."""
    return PIPELINES.get(name)


def list_pipelines() -> List[Pipeline]:
    """Every registered pipeline, by name."""
    return [PIPELINES.get(name) for name in PIPELINES.names()]


def catalogue() -> Dict[str, List[Tuple[str, str]]]:
    """Everything registered, as ``translate models`` prints it and ``translate.list_models``
    returns it: (name, one-line summary) per translator, generator, discriminator, loss and pipeline."""
    from translate.registry import ZOO

    listing = {title: registry.summaries() for title, registry in ZOO.items()}
    listing["pipelines"] = [(p.name, p.summary) for p in list_pipelines()]
    return listing


def pipelines_for(kind: str, pipelines: Optional[List[Pipeline]] = None) -> List[Pipeline]:
    """The pipelines that run checkpoints of ``kind`` (of ``pipelines``, default every registered one)."""
    return [p for p in (list_pipelines() if pipelines is None else pipelines) if p.model == kind]
