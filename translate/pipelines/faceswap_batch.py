"""Face swap over a file or a folder of videos and photos, mirroring the input tree.

The batch rules are ``translate apply``'s (``translate.apply.batch``): outputs are
planned by ``plan_media``, written atomically, existing ones are skipped (a re-run
resumes), and every file is attempted, failures listed at the end. Videos stream
through ``translate_video`` with a ``FaceSwapper`` as the frame translator, so audio
is kept and frames are batched.

A file where no face is found at all is a failure whose message says so, and its
output is removed: nothing is written, so a later run with other settings (a lower
``--min-score``) is not skipped as done.

Each file is read twice: a scan (detection only) numbers its faces and chooses which to swap
(``FaceSwapper.scan``/``choose``; an ``--face ID`` never seen fails the file before any
translation, listing the IDs there were), then the swap. ``--preview`` draws the scanned faces
with their IDs, the chosen one marked and its swap region (``--mask``) tinted red.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from translate.apply.batch import BatchReport, plan_media, split_work, translate_video_or_report
from translate.apply.video import VideoOptions, resample
from translate.data import ImageReadError, read_image, resize_long_side, write_image
from translate.errors import TranslateError
from translate.people.faces_align import AlignSpec
from translate.people.choosing import Choice, NoSuchIdError
from translate.people.faces_blend import BlendOptions
from translate.people.faces_preview import draw_faces, draw_mask
from translate.people.faces_track import TrackOptions
from translate.pipelines.faceswap import FaceSwapper, SwapOptions
from translate.video.io import VideoError, VideoReader, even_size, probe

Message = Callable[[str], None]
Pair = Tuple[Path, Path]


class NotAFaceModelError(TranslateError, ValueError):
    """The checkpoint is not an RGB generator trained on aligned face crops."""


def _stderr(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


@dataclass
class SwapReport(BatchReport):
    faces: Dict[Path, Tuple[int, int]] = field(default_factory=dict)  # source -> (frames swapped, frames)
    stage_seconds: Dict[str, float] = field(default_factory=dict)


def _merge_stages(report: SwapReport, seconds: Dict[str, float]) -> None:
    for key, value in seconds.items():
        report.stage_seconds[key] = report.stage_seconds.get(key, 0.0) + value


def swap_batch(swapper: FaceSwapper, pairs: Sequence[Pair], video: VideoOptions, overwrite: bool = False,
               progress: bool = True, on_message: Message = _stderr, preview: Optional[Path] = None) -> SwapReport:
    report = SwapReport()
    images, videos = split_work(pairs, overwrite, report.skipped, on_message)
    previews = _Previews(preview, len(pairs))
    for src, dst in tqdm(images, desc="faceswap", unit="img", disable=not progress or not images,
                         dynamic_ncols=True):
        _image(swapper, src, dst, video, report, previews)
    for src, dst in videos:
        _video(swapper, src, dst, video, report, on_message, progress, previews)
    return report


@dataclass
class _Previews:
    """Where each file's faces preview goes: ``path`` itself for one input, ``path``'s stem + the
    source's stem for several."""

    path: Optional[Path]
    files: int

    def write(self, src: Path, swapper: FaceSwapper, record) -> None:
        if self.path is None or record.shown is None or swapper.chosen is None:
            return
        target = self.path if self.files == 1 else self.path.with_name(f"{self.path.stem}_{src.stem}{self.path.suffix}")
        how = "" if swapper.chosen.choice.rule == "id" else swapper.chosen.choice.describe()
        faces = record.frames[record.shown_index]
        regions = [swapper.region(record.shown, face) for fid, face in faces if fid in swapper.chosen.ids]
        shown = draw_mask(record.shown, np.max(regions, axis=0)) if regions else record.shown
        write_image(target, draw_faces(shown, faces, swapper.chosen.ids, how))


def _choose(swapper: FaceSwapper, src: Path, frames, report: SwapReport, previews: _Previews) -> bool:
    """Scan ``frames`` and choose the face to swap; False (and a failure recorded) when that fails."""
    record = swapper.scan(frames)
    try:
        swapper.choose(record)
    except NoSuchIdError as exc:
        report.failed.append((src, f"{src}: {exc}; nothing written"))
        return False
    previews.write(src, swapper, record)
    return True


def _scan_frames(src: Path, options: VideoOptions) -> Iterator[np.ndarray]:
    """The frames ``translate_video`` will hand the swapper, in the same order (same size, same
    resampling), so the scan numbers the faces as the swap will."""
    info = probe(src)
    frames = iter(VideoReader(src, even_size(info.width, info.height, options.size), info))
    if options.fps:
        frames = resample(frames, options.fps)
    return (frame.image for frame in frames)


def _no_face(src: Path, frames: int) -> str:
    what = "the image" if frames == 1 else f"any of its {frames} frames"
    return f"{src}: no face found in {what}; nothing written (try a lower --min-score or --min-face 0)"


def _image(swapper: FaceSwapper, src: Path, dst: Path, options: VideoOptions, report: SwapReport,
           previews: _Previews) -> None:
    swapper.reset()
    try:
        image = read_image(src, channels=3)
        if options.size:
            image = resize_long_side(image, options.size)
        if not _choose(swapper, src, [image], report, previews):
            return
        out = swapper([image])[0]
        _merge_stages(report, swapper.stats.seconds)
        report.faces[src] = (swapper.stats.swapped, 1)
        if not swapper.stats.swapped:
            report.failed.append((src, _no_face(src, 1)))
            return
        write_image(dst, np.concatenate([image, out], axis=1) if options.side_by_side else out)
        report.written.append(dst)
    except (ImageReadError, OSError, ValueError) as exc:
        report.failed.append((src, str(exc) if str(src) in str(exc) else f"{src}: {exc}"))


def _video(swapper: FaceSwapper, src: Path, dst: Path, options: VideoOptions, report: SwapReport,
           on_message: Message, progress: bool, previews: _Previews) -> None:
    swapper.reset()
    try:
        if not _choose(swapper, src, _scan_frames(src, options), report, previews):
            return
    except VideoError as exc:
        report.failed.append((src, str(exc)))
        return
    if swapper.chosen is not None and swapper.chosen.ids:
        on_message(f"{src}: {swapper.chosen.summary}")
    result = translate_video_or_report(src, dst, swapper, options, report, on_message, progress)
    if result is None:
        return
    stats = swapper.stats
    _merge_stages(report, stats.seconds)
    _merge_stages(report, {"decode": result.stage_seconds.get("decode", 0.0),
                           "encode": result.stage_seconds.get("encode", 0.0)})
    report.faces[src] = (stats.swapped, stats.frames)
    if stats.swapped == 0:
        dst.unlink(missing_ok=True)
        report.failed.append((src, _no_face(src, stats.frames)))
        return
    report.videos.append(result)
    report.written.append(dst)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items())
    on_message(f"{dst}: {result.frames_out} frame(s), face swapped in {stats.swapped}, no face in "
               f"{stats.no_face}; {result.fps:.1f} frames/s"
               f"{', audio ' + result.info.audio.codec if result.info.audio else ', no audio'} ({stages})")
    if result.problem:
        report.failed.append((src, f"{src}: {result.problem} (the frames before were swapped and written to {dst})"))


@dataclass
class FaceSwapJob:
    """What ``translate faceswap`` does, as data: a face model, inputs, outputs and how to swap."""

    checkpoint: Path
    input: Path
    output: Path
    direction: Optional[str] = None
    device: Optional[str] = None
    precision: Optional[str] = None
    margin: float = AlignSpec.margin  # crop margin around the face (the crop size is the model's)
    track: TrackOptions = field(default_factory=TrackOptions)
    blend: BlendOptions = field(default_factory=BlendOptions)
    temporal: float = 0.0
    mask: str = SwapOptions.mask
    choice: Choice = field(default_factory=Choice)  # --face ID|largest|centre
    preview: Optional[Path] = None  # PNG of the faces with their IDs, the chosen one marked
    video: VideoOptions = field(default_factory=VideoOptions)
    overwrite: bool = False
    progress: bool = True


def swap_checkpoint(job: FaceSwapJob, make_detector: Callable[[], Any],
                    on_message: Message = _stderr) -> SwapReport:
    """``translate faceswap`` as one call: load the face model, check it is one, plan the outputs,
    and swap every file (``make_detector()`` returns the face detector, a context manager)."""
    from translate.apply.model import Model
    from translate.devices import configure_threads, precision_name

    configure_threads()
    model = Model.from_file(Path(job.checkpoint), job.direction, job.device, job.precision)
    spec = model.spec
    size = (spec.preprocess or {}).get("size")
    if not size or spec.in_channels != 3 or spec.out_channels != 3:
        raise NotAFaceModelError(f"{job.checkpoint}: not a face model (needs an RGB generator trained on face crops, "
                                 f"e.g. `translate train faceswap`)")
    if not (spec.preprocess or {}).get("faces"):
        on_message(f"note: {job.checkpoint} was trained by {spec.translator or 'another translator'}, not faceswap; "
                   f"using it on {size}x{size} aligned face crops")
    pairs = plan_media(Path(job.input), Path(job.output))
    options = SwapOptions(AlignSpec(int(size), job.margin), job.track, job.blend, job.temporal, job.mask, job.choice)
    on_message(f"faceswap {spec.direction} ({spec.architecture}, {size}px crops) on {model.device}, "
               f"{precision_name(model.dtype)}: {len(pairs)} file(s) -> {job.output}")
    with make_detector() as detector:
        swapper = FaceSwapper(model, detector, options)
        return swap_batch(swapper, pairs, job.video, job.overwrite, progress=job.progress, on_message=on_message,
                          preview=job.preview)


# --- the declaration `translate serve` builds its Face swap tab from (translate.pipelines.registry) ------

from translate.pipelines.registry import (  # noqa: E402  (the declaration needs the code above)
    FACE, IMAGE, VIDEO, Input, Pick, Pipeline, PipelineJob, register_pipeline)

WHICH_FACE = Pick("which face", "with several faces: largest, centre, or an ID (as faceswap --preview numbers "
                                  "them); the others are left as they are", "largest")


def serve_faceswap(job: PipelineJob) -> str:
    """One upload (a video or a photo) through the whole face swap (detect, align, translate, blend)
    with the face model serve loaded; the crops are the size the model was trained at."""
    from translate.people.faces_detect import build_detector

    spec = job.model.spec
    choice = Choice.parse(job.chosen(WHICH_FACE), f"'{WHICH_FACE.label}'", "face")  # refused before any work
    options = SwapOptions(AlignSpec(int((spec.preprocess or {}).get("size") or 256)), choice=choice)
    with build_detector("mediapipe") as detector:
        swapper = FaceSwapper(job.model, detector, options)
        report = swap_batch(swapper, [(Path(job.source), Path(job.destination))], VideoOptions(), overwrite=True,
                            progress=False, on_message=lambda m: None)
    if report.failed:
        raise TranslateError(report.failed[0][1])
    return f"face swap done ({spec.architecture})"


register_pipeline(Pipeline(
    name="faceswap", title="Face swap", summary="Swap the face in a video or a photo for the one the model "
                                                "was trained on.",
    inputs=(Input(VIDEO, "a video with a face"), Input(IMAGE, "a photo with a face")), model=FACE,
    run=serve_faceswap, how_to_train="translate train faceswap", pick=WHICH_FACE))
