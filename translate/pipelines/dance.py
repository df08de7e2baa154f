"""Pose transfer on video (``translate dance``): source moves, target person.

Two passes over the source, so memory stays bounded whatever its length:
  1. poses: decode, estimate every person's pose in each frame, keeping only the joints seen at
     the training figures' visibility threshold, and number the people (``people/tracking.py``);
     the source dancer is chosen over the whole clip (``source_person``: an ID, the largest or
     the one nearest the centre; the target is the person the checkpoint's dataset was made of,
     chosen by ``poses extract --person``). A frame without the dancer gets an empty figure and
     is reported by number, or holds the last pose when asked; a video with nobody is an error.
     Only keypoints are kept; they are smoothed over time and the source's framing measured;
  2. frames: decode again (for timestamps and --side-by-side), normalise each pose into the
     target's framing (``normalise.py``), render it with the checkpoint's figure style, run the
     generator on the figure and its own previous output (zeros first), encode, copy the audio.
Frames are generated in order, one at a time, because each depends on the one before.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
from tqdm import tqdm

from translate.apply.frames import batch_to_frames, frames_to_batch
from translate.apply.model import Model
from translate.checkpoint import GeneratorSpec
from translate.devices import precision_name
from translate.errors import DataError, TranslateError
from translate.fileio import atomic_path, refuse_overwriting_input
from translate.video.encode import VideoWriter
from translate.video.io import VideoReader, even_size, probe

from translate.people.poses import face_crop
from translate.pipelines.pose_dataset import NoPersonError
from translate.data import write_image
from translate.people.poses.choose import PersonChoice
from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.nobody import Nobody, hold_last
from translate.people.poses.people import DEFAULT_MIN_SECONDS, PeopleRecord, fleeting_note, frames_for
from translate.people.poses.preview import draw_people
from translate.people.poses.normalise import PoseNormaliser, PoseStats, pose_stats
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.seen import DEFAULT_MIN_VISIBILITY, check_against_figure, check_threshold
from translate.people.poses.skeletons import Pose, convert, has_face, has_hands
from translate.people.poses.smoothing import SmoothingOptions, smooth_poses

Message = Callable[[str], None]
FACE_STAGE = "face"  # a pose2frame run's face-stage generator: part of the dance, not a direction to pick


class NotAPoseModelError(TranslateError, ValueError):
    """The checkpoint was not trained by pose2frame."""


@dataclass
class DanceOptions:
    normalise: bool = True
    side_by_side: bool = False  # source | figure | result
    size: Optional[int] = None  # long side of the generated frames; default: the target's frame size
    target_stats: Optional[Path] = None  # overrides the statistics saved in the checkpoint
    source_stats: Optional[Path] = None  # read if it exists (repeatable runs), else measured and written there
    codec: Optional[str] = None
    crf: int = 18
    progress: bool = True
    hold_last: bool = False  # frames with nobody: the last pose's figure instead of an empty one
    min_visibility: Optional[float] = None  # None: the checkpoint's (its dataset's figure.json), else 0.5
    source_person: PersonChoice = field(default_factory=PersonChoice)  # who in the source dances: ID, largest, centre
    preview: Optional[Path] = None  # PNG of the source's people with their IDs, the chosen one marked
    scan_every: int = 30  # frames between scans of the source for people walking in
    min_seconds: float = DEFAULT_MIN_SECONDS  # people seen for less without a break are left out (drop_fleeting)


@dataclass
class DanceResult:
    frames: int = 0
    nobody: Nobody = field(default_factory=Nobody)  # source frames with nobody seen, by frame number
    seconds: Dict[str, float] = field(default_factory=dict)  # pose / normalise+render / generate / encode
    source_stats: Optional[PoseStats] = None
    target_stats: Optional[PoseStats] = None
    problem: Optional[str] = None
    people: str = ""  # who was in the source and who was chosen (PeopleRecord.summary)

    @property
    def no_person(self) -> int:
        return self.nobody.count

    def fps(self) -> float:
        total = sum(self.seconds.values())
        return self.frames / total if total else 0.0


def figure_style_of(spec: GeneratorSpec) -> Tuple[FigureStyle, int]:
    record = dict((spec.preprocess or {}).get("figure") or {})
    smooth = int(record.pop("smooth", 5))
    record.pop("min_visibility", None)  # the estimator's, not the drawing's: see min_visibility_of
    return (FigureStyle(**record) if record else FigureStyle()), smooth


def min_visibility_of(spec: GeneratorSpec, options: DanceOptions, style: FigureStyle) -> float:
    """The visibility threshold for the source: the user's, else the one the training figures were
    made with (checkpoints from before it was recorded: the default), checked against the style."""
    if options.min_visibility is not None:
        value = check_threshold(options.min_visibility, "--min-visibility")
    else:
        record = (spec.preprocess or {}).get("figure") or {}
        value = check_threshold(record.get("min_visibility", DEFAULT_MIN_VISIBILITY), "figure.json min_visibility")
    check_against_figure(value, style.min_confidence)
    return value


def check_pose_model(spec: GeneratorSpec, path) -> None:
    if (spec.preprocess or {}).get("input") != "pose_sequence":
        raise NotAPoseModelError(f"{path}: not a pose2frame checkpoint (trained by {spec.translator or 'unknown'}); "
                                 f"train one with: translate train pose2frame --data DATASET --name NAME")


def _canvas(target: Optional[PoseStats], source_size: Tuple[int, int], size: Optional[int]) -> Tuple[int, int]:
    w, h = target.frame_size if target is not None else source_size
    return even_size(w, h, size)


def _source_poses(video: Path, skeleton_name: str, smooth: SmoothingOptions, estimator_options: EstimatorOptions,
                  options: DanceOptions, result: DanceResult) -> Tuple[List[Optional[Pose]], Tuple[int, int]]:
    info = probe(video)
    reader = VideoReader(video, info=info)
    estimator = build_estimator("mediapipe", estimator_options)
    record = PeopleRecord()
    start = time.perf_counter()
    try:
        for frame in tqdm(reader, total=info.expected_frames or None, desc=f"poses {video.name}", unit="frame",
                          disable=not options.progress, dynamic_ncols=True):
            record.add(estimator.estimate_all(frame.image), frame.image)
    finally:
        estimator.close()
    result.seconds["pose"] = time.perf_counter() - start
    result.problem = reader.problem
    if not record.frames:
        raise NoPersonError(f"{video}: no frames decoded ({reader.problem or 'empty video'})")
    fleeting = record.drop_fleeting(frames_for(options.min_seconds, info.fps))
    chosen = record.choose(options.source_person)
    poses = [None if p is None else convert(p, skeleton_name) for p in chosen.poses]
    result.nobody = Nobody.of(poses, held=options.hold_last)
    if chosen.id is None:
        raise NoPersonError(f"{video}: no person found in any of its {len(poses)} frame(s)")
    result.people = record.summary(chosen) + fleeting_note(fleeting, options.min_seconds)
    if options.preview is not None:
        why = "" if chosen.choice.rule == "id" else chosen.choice.describe()
        write_image(options.preview, draw_people(record.shown, record.frames[record.shown_index], chosen.id, why))
    return smooth_poses(hold_last(poses) if options.hold_last else poses, smooth), (info.width, info.height)


def _scaler(source_size, canvas, target: Optional[PoseStats], normaliser: Optional[PoseNormaliser]):
    """Source-pixel pose -> canvas-pixel pose: normalised into the target's frame, or just rescaled."""
    frame = target.frame_size if normaliser is not None else source_size
    sx, sy = canvas[0] / frame[0], canvas[1] / frame[1]
    ox = oy = 0.0
    if normaliser is None and abs(sx - sy) > 1e-6:
        # Without normalisation the canvas may have the target's aspect, not the source's: one
        # scale for both axes (letterboxed, centred), or the figure comes out stretched.
        sx = sy = min(sx, sy)
        ox, oy = (canvas[0] - frame[0] * sx) / 2, (canvas[1] - frame[1] * sy) / 2

    def to_canvas(pose: Optional[Pose]) -> Optional[Pose]:
        if pose is None:  # nobody in this frame: nothing to place, the figure stays empty
            return None
        out = normaliser(pose) if normaliser is not None else pose.copy()
        out.points[:, 0] = out.points[:, 0] * sx + ox
        out.points[:, 1] = out.points[:, 1] * sy + oy
        return out

    return to_canvas


def letterbox(image: np.ndarray, canvas: Tuple[int, int]) -> np.ndarray:
    """``image`` scaled by one factor to fit ``canvas`` (width, height), centred on black: the
    side-by-side source panel keeps its aspect, as the figure drawn from it does."""
    h, w = image.shape[:2]
    scale = min(canvas[0] / w, canvas[1] / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = np.zeros((canvas[1], canvas[0]) + image.shape[2:], image.dtype)
    x, y = (canvas[0] - size[0]) // 2, (canvas[1] - size[1]) // 2
    out[y:y + size[1], x:x + size[0]] = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return out


def _saved_stats(spec: GeneratorSpec) -> Optional[PoseStats]:
    saved = (spec.preprocess or {}).get("pose_stats")
    return PoseStats(**{**saved, "frame_size": tuple(saved["frame_size"])}) if saved else None


def _target_stats(spec: GeneratorSpec, options: DanceOptions) -> PoseStats:
    if options.target_stats is not None:
        return PoseStats.load(options.target_stats)
    saved = _saved_stats(spec)
    if saved is None:
        raise DataError("the checkpoint has no pose statistics (its dataset had no pose_stats.json): give "
                         "--target-stats FILE or --no-normalise")
    return saved


def _source_stats(poses, size, path: Optional[Path], source, min_confidence: float) -> PoseStats:
    if path is not None and Path(path).exists():
        return PoseStats.load(path)
    try:
        stats = pose_stats(poses, size, min_confidence=min_confidence)
    except ValueError as exc:
        raise DataError(f"{source}: {exc}; use --no-normalise") from None
    if path is not None:
        stats.save(path)
    return stats


def dance(model: Model, source: Path, output: Path, options: DanceOptions, on_message: Message = lambda m: None,
          face: Optional[Model] = None) -> DanceResult:
    """``model``: a pose2frame generator (``translate.load``); ``face``: its run's face stage, if it
    has one (refines each frame's face). Both run where and how their ``Model`` says."""
    spec = model.spec
    style, smooth = figure_style_of(spec)
    result = DanceResult()
    target = _target_stats(spec, options) if options.normalise else None  # before the slow pass: fail early
    seen = EstimatorOptions(min_visibility=min_visibility_of(spec, options, style), scan_every=options.scan_every,
                            hands=has_hands(style.skeleton),  # the figures training drew: with hands or not,
                            face=has_face(style.skeleton))  # with the face or not
    poses, source_size = _source_poses(Path(source), style.skeleton, SmoothingOptions(smooth, style.min_confidence),
                                       seen, options, result)
    normaliser = None
    if target is not None:
        result.source_stats = _source_stats(poses, source_size, options.source_stats, source, style.min_confidence)
        result.target_stats = target
        normaliser = PoseNormaliser(result.source_stats, target, style.min_confidence)
        on_message(f"source framing: {result.source_stats.describe()}")
        on_message(f"target framing: {target.describe()}")
        on_message(f"normalisation: {normaliser.describe()}")
    # Without normalisation the figure is still drawn at the target's frame size when it is known.
    canvas = _canvas(target or _saved_stats(spec), source_size, options.size)
    to_canvas = _scaler(source_size, canvas, target, normaliser)
    _generate(model, poses, Path(source), Path(output), canvas, to_canvas, style, options, result, on_message,
              face)
    return result


def _generate(model: Model, poses, source, output, canvas, to_canvas, style, options, result, on_message,
              face: Optional[Model]) -> None:
    refuse_overwriting_input(output, [source])
    info = probe(source)
    spec = model.spec
    face_size = int(face.spec.preprocess["face_size"]) if face is not None else 0
    temporal = bool((spec.preprocess or {}).get("temporal", True))
    timers = {"normalise+render": 0.0, "generate": 0.0, "encode": 0.0}
    previous: Optional[torch.Tensor] = None
    reader = VideoReader(source, info=info)
    with atomic_path(output) as tmp:
        writer = VideoWriter(tmp, info.time_base, info.fps, source if info.audio else None, options.codec,
                             options.crf, on_message)
        try:
            bar = tqdm(total=len(poses), desc=f"dance {source.name}", unit="frame", disable=not options.progress,
                       dynamic_ncols=True)
            for frame, pose in zip(reader, poses):
                t0 = time.perf_counter()
                figure = render_pose(to_canvas(pose), canvas, style)
                t1 = time.perf_counter()
                with torch.no_grad():
                    x = frames_to_batch([figure], model.device)
                    if temporal:
                        start = previous if previous is not None else torch.zeros_like(x[:, :spec.out_channels])
                        x = torch.cat([x, start], 1)
                    body = model.run(x)
                    # The body output is what training fed back (the face stage refines it afterwards).
                    previous = body if temporal else None
                    y = body
                    if face is not None:
                        y = face_crop.refine(face.generator, x[:, :3], body, face_size)[0].clamp(-1, 1)
                image = batch_to_frames(y)[0]
                t2 = time.perf_counter()
                if options.side_by_side:
                    shown = letterbox(frame.image, canvas)
                    image = np.concatenate([shown, figure, image], axis=1)
                writer.write(image, frame.pts)
                t3 = time.perf_counter()
                timers["normalise+render"] += t1 - t0
                timers["generate"] += t2 - t1
                timers["encode"] += t3 - t2
                result.frames += 1
                bar.update(1)
            bar.close()
            writer.close()
        except BaseException:
            writer.abort()
            raise
    result.seconds.update(timers)
    if result.frames < len(poses):
        result.problem = result.problem or f"second decode gave {result.frames} of {len(poses)} frames"


def dance_checkpoint(checkpoint: Path, source: Path, output: Path, options: DanceOptions = DanceOptions(),
                     device: Optional[str] = None, precision: Optional[str] = None,
                     on_message: Message = lambda m: None) -> DanceResult:
    """``translate dance`` as one call: load a pose2frame checkpoint (its face stage too, when it
    has one) on ``device`` in ``precision``, and run ``dance`` on ``source``."""
    from translate.devices import configure_threads

    source, output, checkpoint = Path(source), Path(output), Path(checkpoint)
    if output.resolve() == source.resolve():
        raise DataError(f"--output {output} is the source video; choose another file")
    configure_threads()
    model = Model.from_file(checkpoint, device=device, precision=precision)
    check_pose_model(model.spec, checkpoint)
    face = face_stage(model)
    stages = model.spec.architecture + (" + face stage" if face else "")
    on_message(f"pose2frame ({stages}) on {model.device}, {precision_name(model.dtype)}: {source} -> {output}")
    return dance(model, source, output, options, on_message, face)


def face_stage(model: Model) -> Optional[Model]:
    """The face-stage generator of ``model``'s run folder, on the same device and precision; None
    when the run has none (or the model came from a single file)."""
    from translate.checkpoint import read_metadata

    source = model.source
    if source is None or not source.is_dir() or FACE_STAGE not in (read_metadata(source).get("generators") or {}):
        return None
    return Model.from_file(source, FACE_STAGE, str(model.device), precision_name(model.dtype))


# --- the declaration `translate serve` builds its Dance tab from (translate.pipelines.registry) ---------

from translate.pipelines.registry import (  # noqa: E402  (the declaration needs the code above)
    POSE_SEQUENCE, VIDEO, Input, Pick, Pipeline, PipelineJob, register_pipeline)

WHO_DANCES = Pick("who dances", "in a video with several people: largest, centre, or an ID (as dance --preview "
                                  "numbers them)", "largest")

def serve_dance(job: PipelineJob) -> str:
    """One upload through the whole dance with the model serve loaded (and its face stage, when the
    run has one). The page has no --target-stats: without the dataset's pose statistics in the
    checkpoint the source keeps its own framing (as --no-normalise), and the line returned says so."""
    model = job.model
    normalise = bool((model.spec.preprocess or {}).get("pose_stats"))
    source_person = PersonChoice.parse(job.chosen(WHO_DANCES), f"'{WHO_DANCES.label}'")  # refused before any work
    options = DanceOptions(normalise=normalise, progress=False, source_person=source_person)
    result = dance(model, Path(job.source), Path(job.destination), options, face=face_stage(model))
    if result.problem:
        raise TranslateError(f"dance: {result.problem}")
    framing = "" if normalise else " (not normalised: the checkpoint has no pose statistics)"
    return f"{result.frames} frames, {result.fps():.1f} frames/s{framing}"


register_pipeline(Pipeline(
    name="dance", title="Dance", summary="Pose transfer: the checkpoint's person does the moves of the person "
                                         "in the video.",
    inputs=(Input(VIDEO, "a video of someone dancing"),), model=POSE_SEQUENCE, run=serve_dance,
    stages=(FACE_STAGE,), how_to_train="translate train pose2frame", pick=WHO_DANCES))
