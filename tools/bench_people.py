"""People found, ID switches on a crossing and extraction speed, before (MediaPipe Pose, one person:
``mediapipe-single``) and after (``mediapipe``: everyone). Run from the repository root:

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_people.py
    .venv/bin/python tools/bench_people.py --picture docs/images/people_tracked.png   # the README picture

It reuses the tests' real photos (tests/people/real_photos.py: ultralytics' zidane.jpg and
bus.jpg, people marked by hand) and synthetic clips (tests/pose_clips.py).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "people"), str(ROOT / "tests"), str(ROOT)]

from real_photos import PEOPLE, matched, photo  # noqa: E402
from translate.people.poses.choose import pose_box  # noqa: E402
from translate.people.poses.estimator import EstimatorOptions, build_estimator  # noqa: E402
from translate.people.tracking import IdTracker  # noqa: E402


def found(name: str) -> None:
    print("people found / present on real photos (poses matching nobody)")
    for photo_name, boxes in PEOPLE.items():
        image = photo(photo_name)
        with build_estimator(name, EstimatorOptions(video=False)) as estimator:
            start = time.perf_counter()
            hits, extra = matched(estimator.estimate_all(image), boxes)
            took = time.perf_counter() - start
        print(f"  {name:17s} {photo_name:16s} {hits}/{len(boxes)} ({extra} extra) {took:.2f} s")


def crossing_clip(frames=24, size=128):
    """Two astronauts crossing: A (left, in front) walks right, B (mirrored) walks left behind her."""
    one = cv2.resize(__import__("skimage.data").data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    mask = np.zeros((size, size), bool)
    mask[:, size // 6: size - size // 6] = True  # the middle of each photo: the person and a little around
    width = size * 3
    clip, truth = [], []
    for i in range(frames):
        ax = round(i * (width - size) / (frames - 1))
        bx = width - size - ax
        frame = np.zeros((size, width, 3), np.uint8)
        frame[:, bx:bx + size][mask] = one[:, ::-1][mask]
        frame[:, ax:ax + size][mask] = one[mask]  # A last: in front
        clip.append(frame)
        truth.append({"A": ax + size / 2, "B": bx + size / 2})
    return clip, truth


def switches(name: str, size: int = 128) -> None:
    """The tracker on a crossing; and for the dancer (A, ID chosen in the first frame) the frames
    whose skeleton is on the other person: before, one skeleton per frame was the dancer.

    A skeleton is attributed to A or B only when its median x is clearly nearer one of them (by a
    quarter of a person's width): while the two overlap, the one skeleton found covers both and
    naming it after the nearer centre is a coin toss, not an ID change. ``kept`` says whether each
    person has the same ID in the last frame as in the first (the crossing survived)."""
    clip, truth = crossing_clip(size=size)
    with build_estimator(name, EstimatorOptions()) as estimator:
        tracker, last, first, changes, wrong, missed, merged = IdTracker(), {}, {}, 0, 0, 0, 0
        naive_last, naive_changes = {}, 0  # every skeleton named after the nearer centre, as this tool once did
        dancer = None
        for frame, where in zip(clip, truth):
            poses = estimator.estimate_all(frame)
            ids = tracker.update([pose_box(p) for p in poses])
            owner = {}
            for pose, pid in zip(poses, ids):
                x = float(np.median(pose.points[pose.points[:, 2] > 0, 0]))
                near = sorted(where, key=lambda k: abs(where[k] - x))
                naive_changes += near[0] in naive_last and naive_last[near[0]] != pid
                naive_last[near[0]] = pid
                if abs(abs(where[near[1]] - x) - abs(where[near[0]] - x)) < size / 4:
                    merged += 1  # the two overlap: this skeleton is neither's alone
                    continue
                who = near[0]
                changes += who in last and last[who] != pid
                last[who] = pid
                first.setdefault(who, pid)
                owner[pid] = who
            dancer = dancer if dancer is not None else next((p for p, w in owner.items() if w == "A"), None)
            wrong += owner.get(dancer) == "B"
            missed += dancer not in owner
    kept = all(first.get(k) == last.get(k) for k in ("A", "B")) and len(first) == 2
    print(f"  {name:17s} crossing of two astronauts, {len(clip)} frames: {changes} ID changes on clear frames "
          f"({merged} skeletons over both, not counted; {naive_changes} counting those by the nearer centre); same IDs after the crossing as before: "
          f"{'yes' if kept else 'no'}; the dancer's skeleton on the other person in {wrong} frames, not found "
          f"alone in {missed}")


def tracked_picture(out: Path, size: int = 128, frames: int = 24, shown=(0, 10, 13, 23)) -> Path:
    """The crossing as a user sees it in ``people.png``: every person found, with their ID, the
    dancer (whoever A is in the first frame) marked, at frames ``shown`` of the clip, one above the
    other, so the README shows an ID surviving the crossing."""
    from translate.data import write_image
    from translate.people.poses.preview import draw_people

    clip, _ = crossing_clip(frames, size)
    rows, dancer = [], None
    with build_estimator("mediapipe", EstimatorOptions()) as estimator:
        tracker = IdTracker()
        for index, frame in enumerate(clip):
            poses = estimator.estimate_all(frame)
            people = list(zip(tracker.update([pose_box(p) for p in poses]), poses))
            boxed = [(pid, pose_box(pose)) for pid, pose in people if pose_box(pose) is not None]
            if dancer is None and boxed:  # A starts on the left
                dancer = min(boxed, key=lambda item: item[1][0])[0]
            if index in shown:
                drawn = draw_people(frame, people, dancer, "the dancer")
                cv2.putText(drawn, f"frame {index}", (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255),
                            1, cv2.LINE_AA)
                rows += [drawn, np.full((4, drawn.shape[1], 3), 255, np.uint8)]
    write_image(out, np.concatenate(rows[:-1], axis=0))
    return Path(out)


def _clip(size, frames):
    base = cv2.resize(__import__("skimage.data").data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    return [np.roll(base, i, axis=1) for i in range(frames)]


def speed(runs, frames=60, rounds=3) -> None:
    """Frames per second of each (name, size, options) run, rounds interleaved (the machine is shared), median."""
    results = {i: [] for i in range(len(runs))}
    for _ in range(rounds):
        for i, (name, size, options) in enumerate(runs):
            clip = _clip(size, frames)
            with build_estimator(name, EstimatorOptions(**options)) as estimator:
                estimator.estimate_all(clip[0])  # graphs built and warm
                start = time.perf_counter()
                for frame in clip:
                    estimator.estimate_all(frame)
                results[i].append(frames / (time.perf_counter() - start))
    for i, (name, size, options) in enumerate(runs):
        extra = "".join(f", {k}={v}" for k, v in options.items())
        print(f"  {name:17s} one person, {frames} frames {size}x{size}{extra}: {np.median(results[i]):.1f} frames/s "
              f"(runs: {', '.join(f'{v:.1f}' for v in results[i])})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--picture"] and len(sys.argv) == 3:
        print(tracked_picture(Path(sys.argv[2])))
        sys.exit(0)
    for estimator_name in ("mediapipe-single", "mediapipe"):
        found(estimator_name)
    print("a crossing (the tracker on each estimator's poses)")
    for estimator_name in ("mediapipe-single", "mediapipe"):
        switches(estimator_name)
    print("extraction speed on this CPU (estimation only, video mode)")
    speed([(name, size, options) for size in (256, 512) for name, options in
           (("mediapipe-single", {}), ("mediapipe", {}), ("mediapipe", {"scan_every": 1}))])
