"""Stream one video through a generator: decode, model and encode run at the same time.

Three stages joined by bounded queues::

    decode thread --(frames)--> model (calling thread) --(batches)--> encode thread
    PyAV demux+decode,          batches of --batch-size     temporal filter, side-by-side,
    rotate, resize               frames on the device        encode + mux video, copy audio

Threads suffice: PyAV (FFmpeg) and torch both release the GIL in their heavy calls,
so decode and encode of frame t+k overlap the model's work on frame t, and on a GPU
the model is not kept waiting. Queues hold at most ``queue_batches`` batches each,
so memory is bounded whatever the video's length. Any stage's error stops the
others and is raised in the caller; the output is then never renamed into place
(``translate.fileio.atomic_path``), so a killed or failed run leaves no
complete-looking file.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np
from tqdm import tqdm

from translate.apply.frames import FrameFn
from translate.apply.limits import MAX_BATCH, MAX_FPS, MAX_SIZE, check_range
from translate.fileio import atomic_path, refuse_overwriting_input
from translate.video.encode import VideoWriter
from translate.video.io import Frame, VideoInfo, VideoReader, even_size, probe
from translate.video.temporal import FlickerStats, TemporalFilter

Message = Callable[[str], None]
_END = object()


@dataclass
class VideoOptions:
    batch_size: int = 4
    size: Optional[int] = None  # long side in pixels (rounded to even); None keeps the input's size
    fps: Optional[Fraction] = None  # constant output rate; None keeps every input frame and its timestamp
    side_by_side: bool = False  # input | output in one frame
    temporal: float = 0.0  # flicker filter strength in [0, 1]; 0 = off
    measure_flicker: bool = False  # report the flicker metric even without the filter
    codec: Optional[str] = None  # encoder name; None chooses (libx264, else another, with a message)
    crf: int = 18
    queue_batches: int = 2  # bound of each queue, in batches

    def __post_init__(self) -> None:
        check_range("--batch-size", self.batch_size, 1, MAX_BATCH, allow_none=False)
        check_range("--size", self.size, 2, MAX_SIZE)
        check_range("--fps", None if self.fps is None else float(self.fps), 0.01, MAX_FPS)
        check_range("--temporal", self.temporal, 0.0, 1.0, allow_none=False)
        check_range("--crf", self.crf, 0, 63, allow_none=False)
        check_range("queue_batches", self.queue_batches, 1, 64, allow_none=False)


@dataclass
class VideoResult:
    source: Path
    destination: Path
    info: VideoInfo
    frames_in: int = 0
    frames_out: int = 0
    seconds: float = 0.0
    encoder: str = ""
    problem: Optional[str] = None  # where and why decoding stopped early, if it did
    flicker: Optional[FlickerStats] = None
    stage_seconds: Dict[str, float] = field(default_factory=dict)  # busy time of decode/model/post/encode

    @property
    def fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds else 0.0


@dataclass
class _Failure:
    exc: BaseException


def resample(frames: Iterator[Frame], fps: Fraction) -> Iterator[Frame]:
    """Constant ``fps`` output: tick k (at t0 + k/fps) shows the latest input frame at or before it.

    ``pts`` of the result are in units of ``1/fps``. The last input frame is held for its own
    duration (the gap to the frame before it), so a clip keeps its length.
    """
    prev: Optional[Frame] = None
    last_gap = 1.0 / float(fps)
    start = k = None
    for frame in frames:
        if start is None:
            start = round(frame.time * fps)
            k = 0
        if prev is not None:
            last_gap = frame.time - prev.time
            while (start + k) / fps < frame.time - 1e-6:
                yield Frame(prev.image, int(start + k), float((start + k) / fps), k)
                k += 1
        prev = frame
    if prev is not None:
        while (start + k) / fps < prev.time + last_gap - 1e-6:
            yield Frame(prev.image, int(start + k), float((start + k) / fps), k)
            k += 1


def _put(q: "queue.Queue", item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: "queue.Queue", stop: threading.Event):
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return _END


class _Timers(defaultdict):
    def __init__(self):
        super().__init__(float)


def _decode_stage(frames: Iterator[Frame], out: "queue.Queue", stop: threading.Event, timers: _Timers) -> None:
    try:
        while True:
            start = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                break
            timers["decode"] += time.perf_counter() - start
            if not _put(out, frame, stop):
                return
        _put(out, _END, stop)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread and raised there
        _put(out, _Failure(exc), stop)
    finally:
        close = getattr(frames, "close", None)
        if close:
            close()


def _encode_stage(inbox: "queue.Queue", writer: VideoWriter, temporal: Optional[TemporalFilter],
                  side_by_side: bool, stop: threading.Event, timers: _Timers, failure: List[BaseException],
                  bars: List[tqdm]) -> None:
    try:
        while True:
            item = _get(inbox, stop)
            if item is _END:
                return
            frames, outputs = item
            for frame, output in zip(frames, outputs):
                start = time.perf_counter()
                if temporal is not None:
                    output = temporal(frame.image, output)
                if side_by_side:
                    output = np.concatenate([frame.image, output], axis=1)
                mid = time.perf_counter()
                writer.write(output, frame.pts)
                timers["post"] += mid - start
                timers["encode"] += time.perf_counter() - mid
                for bar in bars:
                    bar.update(1)
    except BaseException as exc:  # noqa: BLE001
        failure.append(exc)
        stop.set()


def translate_video(source: Path, destination: Path, translator: FrameFn, options: VideoOptions,
                    on_message: Message = lambda m: print(m, file=sys.stderr), progress: bool = True,
                    overall: Optional[tqdm] = None, info: Optional[VideoInfo] = None) -> VideoResult:
    """Translate ``source`` into ``destination`` (written atomically). Raises ``VideoError`` when
    nothing can be translated; a video that decodes only partly is written and ``problem`` says why."""
    source, destination = Path(source), Path(destination)
    refuse_overwriting_input(destination, [source])
    info = info or probe(source)
    width, height = even_size(info.width, info.height, options.size)
    reader = VideoReader(source, (width, height), info)
    frames: Iterator[Frame] = iter(reader)
    time_base, fps = info.time_base, info.fps
    expected = info.expected_frames
    if options.fps:
        fps, time_base = Fraction(options.fps), 1 / Fraction(options.fps)
        frames = resample(frames, fps)
        expected = int(round(expected * float(fps / info.fps))) if expected else 0
    measure = options.measure_flicker or options.temporal > 0
    temporal = TemporalFilter(options.temporal, measure=True) if measure else None
    result = VideoResult(source, destination, info)
    bar = tqdm(total=expected or None, desc=source.name, unit="frame", disable=not progress, dynamic_ncols=True,
               leave=overall is None, position=1 if overall is not None else None)
    bars = [bar] + ([overall] if overall is not None else [])
    started = time.perf_counter()
    with atomic_path(destination) as tmp:
        writer = VideoWriter(tmp, time_base, fps, source if info.audio else None, options.codec, options.crf,
                             on_message)
        try:
            _run(frames, translator, writer, temporal, options, result, bars)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        finally:
            bar.close()
    result.seconds = time.perf_counter() - started
    result.frames_in, result.frames_out = reader.frames_read, writer.frames_written
    result.encoder = writer.codec
    result.problem = reader.problem
    result.flicker = temporal.stats if temporal is not None else None
    return result


def _run(frames: Iterator[Frame], translator: FrameFn, writer: VideoWriter,
         temporal: Optional[TemporalFilter], options: VideoOptions, result: VideoResult, bars: List[tqdm]) -> None:
    depth = max(1, options.queue_batches) * max(1, options.batch_size)
    decoded: "queue.Queue" = queue.Queue(maxsize=depth)
    translated: "queue.Queue" = queue.Queue(maxsize=max(1, options.queue_batches))
    stop = threading.Event()
    timers = _Timers()
    failure: List[BaseException] = []
    decoder = threading.Thread(target=_decode_stage, args=(frames, decoded, stop, timers), daemon=True,
                               name="translate-decode")
    encoder = threading.Thread(target=_encode_stage, daemon=True, name="translate-encode",
                               args=(translated, writer, temporal, options.side_by_side, stop, timers, failure, bars))
    decoder.start()
    encoder.start()
    try:
        batch: List[Frame] = []
        while True:
            item = _get(decoded, stop)
            if isinstance(item, _Failure):
                raise item.exc
            done = item is _END
            if batch and (done or len(batch) >= options.batch_size):
                start = time.perf_counter()
                outputs = translator([f.image for f in batch])
                timers["model"] += time.perf_counter() - start
                if not _put(translated, (batch, outputs), stop):
                    break
                batch = []
            if done:
                break
            batch.append(item)
        _put(translated, _END, stop)
        encoder.join()  # let it drain every batch before the stop below
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()  # after a normal end both threads are done; after an error this releases them
        encoder.join()
        decoder.join()
        result.stage_seconds = dict(timers)
    if failure:
        raise failure[0]
