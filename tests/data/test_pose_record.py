"""A pose dataset's record: figure.json and pose_stats.json read by the data room, never by a translator."""
import json

import pytest

from translate.config import ConfigError
from translate.data.pose_record import PoseDatasetRecord, dataset_record


def test_reads_what_the_folder_has_and_only_that(tmp_path):
    assert dataset_record(None) == PoseDatasetRecord() and dataset_record(tmp_path).preprocess() == {}
    (tmp_path / "figure.json").write_text(json.dumps({"skeleton": "coco18"}))
    record = dataset_record(tmp_path)
    assert record.figure == {"skeleton": "coco18"} and record.pose_stats is None
    assert record.preprocess() == {"figure": {"skeleton": "coco18"}}  # no pose_stats key: dance asks for one
    (tmp_path / "pose_stats.json").write_text(json.dumps({"height": 0.5}))
    assert list(dataset_record(str(tmp_path)).preprocess()) == ["figure", "pose_stats"]


@pytest.mark.parametrize("text, message", [("{", "not valid JSON"), ("[1, 2]", "must hold a JSON object, got list")])
def test_a_broken_file_is_one_line_naming_it(tmp_path, text, message):
    (tmp_path / "pose_stats.json").write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        dataset_record(tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "pose_stats.json")) and "\n" not in str(caught.value)
