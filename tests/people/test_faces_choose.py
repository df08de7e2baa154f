"""Several faces in a clip: numbered by the tracker, one chosen for the whole clip, only it swapped."""
import numpy as np
import pytest
from torch import nn

from face_clips import face_frame, two_faces_frame
from translate.apply.model import Model
from translate.people.choosing import Choice, NoSuchIdError
from translate.people.faces_blend import BlendOptions
from translate.people.faces_choose import FaceNumbering
from translate.people.tracking import TrackingOptions
from translate.people.faces_detect import MediaPipeFaceDetector
from translate.people.faces_align import AlignSpec
from translate.people.faces_preview import draw_faces
from translate.pipelines.faceswap import FaceSwapper, SwapOptions

FRAMES = [two_faces_frame(i) for i in range(6)]


class Negate(nn.Module):
    def forward(self, x):
        return -x


@pytest.fixture(scope="module")
def detector():
    with MediaPipeFaceDetector() as d:
        yield d


def _swapper(detector, choice):
    model = Model.of_network(Negate(), device="cpu", precision="fp32")
    return FaceSwapper(model, detector, SwapOptions(AlignSpec(64), blend=BlendOptions(color="none"),
                                                    choice=Choice.parse(choice)))


def _inside(box, pad=0.15):
    x, y, w, h = np.asarray(box, float)
    return slice(int(y - pad * h), int(y + (1 + pad) * h)), slice(int(x - pad * w), int(x + (1 + pad) * w))


def test_each_face_keeps_its_id_through_the_clip(detector):
    numbering = FaceNumbering()
    for frame in FRAMES:
        faces = numbering(detector(frame))
        assert [fid for fid, _ in faces] == [1, 2]
        assert faces[0][1].centre[0] < faces[1][1].centre[0]  # new faces are numbered left to right


@pytest.mark.parametrize("choice,changed,kept", [("2", 1, 0), ("largest", 0, 1), ("centre", 1, 0)])
def test_only_the_chosen_face_is_swapped(detector, choice, changed, kept):
    swapper = _swapper(detector, choice)
    chosen = swapper.choose(swapper.scan(FRAMES))
    assert len(chosen.ids) == 1 and "faces: 2 (IDs 1, 2)" in chosen.summary
    out = swapper(FRAMES)
    assert swapper.stats.swapped == len(FRAMES)
    for frame, result in zip(FRAMES, out):
        faces = sorted(detector(frame), key=lambda f: f.centre[0])
        other, swapped = _inside(faces[kept].box), _inside(faces[changed].box, 0.0)
        assert np.array_equal(result[other], frame[other])  # the other face: identical pixels
        assert np.abs(result[swapped].astype(int) - frame[swapped]).mean() > 20


def test_an_unknown_id_lists_the_ids_seen(detector):
    swapper = _swapper(detector, "7")
    with pytest.raises(NoSuchIdError, match=r"--face 7: no face had that ID \(IDs seen: 1, 2\)"):
        swapper.choose(swapper.scan(FRAMES))


def test_one_face_at_a_time_is_swapped_under_every_id(detector):
    # The face leaves for longer than the tracker remembers and comes back under a new ID:
    # with nobody else in the clip, "largest" still swaps it everywhere, as before IDs.
    blank = np.full_like(face_frame(0), 90)
    gone = TrackingOptions().max_missing + 5
    frames = [face_frame(i) for i in range(3)] + [blank] * gone + [face_frame(i) for i in range(3)]
    swapper = _swapper(detector, "largest")
    chosen = swapper.choose(swapper.scan(frames))
    assert chosen.ids == {1, 2}
    swapper(frames)
    assert swapper.stats.swapped == 6 and swapper.stats.no_face == gone


def test_choice_words_and_errors():
    assert Choice.parse("Center").rule == "centre" and Choice.parse(" 3 ").id == 3
    for bad in ("0", "-1", "biggest", ""):
        with pytest.raises(ValueError, match="--face must be an ID"):
            Choice.parse(bad)


def test_preview_marks_the_chosen_face(detector):
    numbered = FaceNumbering()(detector(FRAMES[0]))
    picture = draw_faces(FRAMES[0], numbered, {2}, "centre")
    assert picture.shape == FRAMES[0].shape and picture.dtype == np.uint8
    yellow = (picture[..., 0] > 200) & (picture[..., 1] > 180) & (picture[..., 2] < 80)
    xs = np.nonzero(yellow)[1]
    assert len(xs) and xs.min() > FRAMES[0].shape[1] // 2  # the yellow mark is on the right face only
