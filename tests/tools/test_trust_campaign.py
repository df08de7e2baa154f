"""The trust campaign judges cases from the outside: lost, traceback, hang, memory, wrong, clean."""
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))

import trust_campaign as campaign  # noqa: E402


def test_judging_puts_the_worst_outcome_first():
    refuse = campaign.Case("c", "k", ["x"], fragment="photo.png")
    same = {"in/a": "1"}
    assert campaign.judge(refuse, 1, "translate apply: error: in/photo.png: no", same, same, 100, 3)[0] == "clean"
    assert campaign.judge(refuse, 1, "error", same, {"in/a": "2"}, 100, 3)[0] == "lost"
    assert campaign.judge(refuse, 1, "Traceback (most recent call last):\nValueError: x", same, same, 1, 3)[0] \
        == "traceback"
    assert campaign.judge(refuse, 1, "error: photo.png", same, same, 5000, 3)[0] == "memory"
    assert campaign.judge(refuse, 0, "", same, same, 1, 3)[0] == "wrong"
    assert campaign.judge(refuse, 1, "error: other.png", same, same, 1, 3)[0] == "wrong"
    ok = campaign.Case("c", "k", ["x"], expect="ok")
    assert campaign.judge(ok, 0, "", same, same, 1, 3)[0] == "clean"
    assert campaign.judge(ok, 1, "error", same, same, 1, 3)[0] == "wrong"


def test_a_case_runs_in_its_own_process_and_its_table_counts_it(tmp_path):
    world = tmp_path / "world"
    (world / "in").mkdir(parents=True)
    (world / "in" / "a.txt").write_text("mine")
    case = campaign.Case("missing", "paths", ["apply", "--checkpoint", "nope", "--input", "in", "--output", "o"],
                         fragment="nope", protect=("in",))
    result = campaign.run_case(case, world, timeout=120, max_rss_gb=3)
    assert result.outcome == "clean", result
    assert result.peak_rss_mb > 1
    assert "| paths | 1 | 1 | 0 | 0 | 0 | 0 | 0 |" in campaign.table([result])


def test_every_case_has_a_unique_name_and_a_known_class():
    names = [c.name for c in campaign.CASES]
    assert len(names) == len(set(names))
    assert {c.kind for c in campaign.CASES} <= {"inputs", "memory", "settings", "model", "api", "paths"}
    assert all((c.argv is None) != (c.python is None) for c in campaign.CASES)
