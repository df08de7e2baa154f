"""A video of the target person -> a pose2frame training set (``translate poses extract``).

Layout written under DATASET (pix2pixHD's rgb layout, so the pose2frame and pix2pixhd
translators both read it):
  train_A/<stem>_<frame>.png              stick figures (from smoothed keypoints)
  train_B/<stem>_<frame>.png              the frames
  keypoints/<stem>_<frame>_keypoints.json the estimator's keypoints, OpenPose layout: joints seen keep their
                                          confidence, joints below --min-visibility are 0, 0, 0
  pose_stats.json                         the video's framing for normalisation (``translate dance``)
  figure.json                             how figures were drawn, so transfer draws them the same way
  people.png                              everyone found, with their IDs, on the frame showing most of
                                          them; the chosen person marked
Names carry the frame index, so consecutive files are consecutive frames (pose2frame pairs
them). Every person found is written to the keypoint files with their tracker ID; the figures
are drawn for one, chosen by ``person`` (``people/poses/choose.py``: an ID, the largest or the
one nearest the centre, decided over the whole clip). A frame where that person is not seen
gets an empty figure and its number is reported (``nobody.py``); with ``hold_last`` it reuses
the nearest earlier pose instead, as asked. A video with nobody in it at all is an error.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

from tqdm import tqdm

from translate.data import resize_long_side, write_image
from translate.data.pose_record import FIGURE_FILE, POSE_STATS_FILE
from translate.errors import TranslateError
from translate.fileio import atomic_write_text
from translate.video.io import VideoError, VideoReader, probe

from translate.people.poses.choose import NoSuchPersonError, PersonChoice
from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.nobody import Nobody, hold_last
from translate.people.poses.normalise import pose_stats
from translate.people.poses.openpose_json import PoseFrame, write_keypoints
from translate.people.poses.people import DEFAULT_MIN_SECONDS, Chosen, PeopleRecord, fleeting_note, frames_for
from translate.people.poses.preview import draw_people
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.seen import DEFAULT_MIN_VISIBILITY, check_against_figure
from translate.people.poses.skeletons import convert, has_face, has_hands
from translate.people.poses.smoothing import SmoothingOptions, smooth_poses

# The names the data room reads them back by (translate.data.pose_record): written once.
STATS_FILE, STYLE_FILE = POSE_STATS_FILE, FIGURE_FILE
PREVIEW_FILE = "people.png"


class NoPersonError(TranslateError, ValueError):
    """Nobody was found in any frame of a video."""


@dataclass
class ExtractOptions:
    every: int = 1
    max_size: Optional[int] = None
    limit: Optional[int] = None
    style: FigureStyle = field(default_factory=FigureStyle)
    smooth: int = 5
    detection_confidence: float = 0.5
    min_visibility: float = DEFAULT_MIN_VISIBILITY  # joints below are not seen (people/poses/seen.py)
    hold_last: bool = False  # frames with nobody: the last pose's figure instead of an empty one
    person: PersonChoice = field(default_factory=PersonChoice)  # whose figures: an ID, largest or centre
    scan_every: int = 30  # frames between scans for people walking in
    min_seconds: float = DEFAULT_MIN_SECONDS  # people seen for less without a break are left out (drop_fleeting)
    estimator: str = "mediapipe"
    progress: bool = True

    def estimator_options(self) -> EstimatorOptions:
        """Checked here, before any file is written: a bad threshold loses nothing."""
        check_against_figure(self.min_visibility, self.style.min_confidence)
        return EstimatorOptions(detection_confidence=self.detection_confidence, min_visibility=self.min_visibility,
                                scan_every=self.scan_every, hands=has_hands(self.style.skeleton),
                                face=has_face(self.style.skeleton))


@dataclass
class ExtractReport:
    dataset: Path
    written: int = 0
    nobody: Nobody = field(default_factory=Nobody)  # frames with nobody seen, by frame number
    problem: Optional[str] = None
    stats: str = ""
    people: str = ""  # who was found and who was chosen (PeopleRecord.summary)
    preview: Optional[Path] = None

    @property
    def no_person(self) -> int:
        return self.nobody.count

    def summary(self) -> str:
        lines = [f"wrote {self.written} frame/figure pair(s) to {self.dataset}"]
        if self.people:
            lines.append(self.people + (f" (preview: {self.preview})" if self.preview else ""))
        if self.nobody.count:
            lines.append(self.nobody.summary())
        if self.stats:
            lines.append(f"framing: {self.stats}")
        if self.problem:
            lines.append(f"problem: {self.problem}")
        return "\n".join(lines)


def save_style(dataset: Path, style: FigureStyle, smooth: int, min_visibility: float) -> None:
    """figure.json: the style, the smoothing and the visibility threshold, so ``translate dance``
    leaves out the same unseen joints in the source as were left out of the training figures."""
    record = {**asdict(style), "smooth": smooth, "min_visibility": min_visibility}
    atomic_write_text(dataset / STYLE_FILE, json.dumps(record, indent=1))


def write_preview(path: Path, record: PeopleRecord, chosen: Chosen) -> Path:
    """Everyone on the frame that shows most of them, with IDs; the chosen person marked."""
    people = record.frames[record.shown_index]
    why = "" if chosen.choice.rule == "id" else chosen.choice.describe()  # an ID asked for needs no reason
    write_image(path, draw_people(record.shown, people, chosen.id, why))
    return path


def _check_destination(dataset: Path) -> None:
    if dataset.exists() and not dataset.is_dir():
        raise VideoError(dataset, "exists and is not a folder")
    for sub in ("train_A", "train_B", "keypoints"):
        if (dataset / sub).exists() and any((dataset / sub).iterdir()):
            raise VideoError(dataset, f"already holds a dataset ({sub}/ is not empty); choose a new folder")


def extract_dataset(video: Path, dataset: Path, options: ExtractOptions = ExtractOptions()) -> ExtractReport:
    video, dataset = Path(video), Path(dataset)
    _check_destination(dataset)
    estimator_options = options.estimator_options()
    info = probe(video)
    created = not dataset.exists()
    reader = VideoReader(video, info=info)
    report = ExtractReport(dataset)
    names: List[str] = []
    numbers: List[int] = []
    record = PeopleRecord()
    size = None
    total = info.expected_frames // options.every if info.expected_frames else None
    estimator = build_estimator(options.estimator, estimator_options)
    try:
        with tqdm(total=total, desc=f"poses {video.name}", unit="frame", disable=not options.progress,
                  dynamic_ncols=True) as bar:
            for frame in reader:
                if frame.index % options.every:
                    continue
                image = frame.image
                if options.max_size and max(image.shape[:2]) > options.max_size:
                    image = resize_long_side(image, options.max_size)
                size = (image.shape[1], image.shape[0])
                name = f"{video.stem}_{frame.index:06d}"
                record.add(estimator.estimate_all(image), image)
                write_image(dataset / "train_B" / f"{name}.png", image)
                names.append(name)
                numbers.append(frame.index)
                bar.update(1)
                if options.limit and len(names) >= options.limit:
                    break
    finally:
        estimator.close()
    report.problem = reader.problem
    if not names:
        raise VideoError(video, reader.problem or "no frames decoded")
    fleeting = record.drop_fleeting(frames_for(options.min_seconds, info.fps, options.every))
    for name, people in zip(names, record.frames):  # everyone kept, once the clip says who is real
        write_keypoints(dataset / "keypoints" / f"{name}_keypoints.json",
                        PoseFrame([p for _, p in people], size, [i for i, _ in people]))
    try:
        chosen = record.choose(options.person)
    except NoSuchPersonError:
        if created:
            shutil.rmtree(dataset, ignore_errors=True)
        raise
    raw = chosen.poses
    report.nobody = Nobody.of(raw, numbers, held=options.hold_last)
    if chosen.id is None:
        if created:
            shutil.rmtree(dataset, ignore_errors=True)
        lower = round(options.detection_confidence / 2, 2)
        raise NoPersonError(f"{video}: no person found in any of its {len(raw)} frame(s) at --detection-confidence "
                            f"{options.detection_confidence:g} (people seen from the waist up, or small, often "
                            f"score lower: try --detection-confidence {lower:g})")
    report.people, report.preview = record.summary(chosen), write_preview(dataset / PREVIEW_FILE, record, chosen)
    report.people += fleeting_note(fleeting, options.min_seconds)
    style = options.style
    kept = hold_last(raw) if options.hold_last else raw
    figures = [None if p is None else convert(p, style.skeleton) for p in kept]
    figures = smooth_poses(figures, SmoothingOptions(options.smooth, style.min_confidence))
    for name, pose in zip(names, figures):
        write_image(dataset / "train_A" / f"{name}.png", render_pose(pose, size, style))
    report.written = len(names)
    save_style(dataset, style, options.smooth, options.min_visibility)
    try:
        stats = pose_stats(figures, size, min_confidence=style.min_confidence)
    except ValueError as exc:  # e.g. an upper-body video: usable for training, not for normalising
        report.stats = f"not measured ({exc}); translate dance will need --no-normalise"
        return report
    stats.save(dataset / STATS_FILE)
    report.stats = stats.describe()
    return report
