"""MediaPipe (the people extra) runs offline beside our protobuf, on a real bundled photo."""
import skimage.data

from translate.people.mediapipe_compat import import_mediapipe


def test_mediapipe_finds_the_astronauts_face_offline():
    mp = import_mediapipe()
    image = skimage.data.astronaut()
    with mp.solutions.face_detection.FaceDetection(model_selection=0) as detector:
        found = detector.process(image).detections
    assert len(found) == 1 and found[0].score[0] > 0.8
    box = found[0].location_data.relative_bounding_box
    # FACTS.md: the face sits near (177, 82, 95, 95) in the 512x512 photo.
    assert abs(box.xmin * 512 - 177) < 20 and abs(box.ymin * 512 - 82) < 20
