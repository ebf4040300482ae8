"""Progress with an ETA: plain lines with done/total and ETA when not on a terminal (timed by a
fake clock), a rich bar on a terminal, and a Prefect progress artifact inside a real flow run."""
from __future__ import annotations

import io

import pytest
from prefect import flow
from prefect.testing.utilities import prefect_test_harness

from yocho import progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_off_a_terminal_a_line_every_ten_seconds_with_done_total_and_eta():
    clock, out = FakeClock(), io.StringIO()
    with progress.task("指標を計算 / computing indicators", total=10, stream=out, clock=clock, tty=False,
                       artifact=False) as p:
        p.advance(1)
        clock.tick(4)
        p.advance(1)  # 4 s in: too soon for a line
        assert _lines(out) == []
        clock.tick(8)
        p.advance(1)  # 12 s, 3 of 10: 4 s each, 7 left
        assert _lines(out) == ["[progress] 指標を計算 / computing indicators: 3/10 (30%), 0:00:12 elapsed, "
                               "ETA 0:00:28"]
        clock.tick(5)
        p.advance(2)  # 5 s after the last line: none
        clock.tick(5)
        p.advance(1)  # 10 s after it: 6 of 10 in 22 s
        assert _lines(out)[-1].endswith("6/10 (60%), 0:00:22 elapsed, ETA 0:00:15")
        clock.tick(8)
        p.advance(4)
    assert len(_lines(out)) == 3
    assert _lines(out)[-1] == "[progress] 指標を計算 / computing indicators: done, 10/10 in 0:00:30"


def test_a_short_step_prints_nothing_and_an_unknown_total_has_no_eta():
    clock, out = FakeClock(), io.StringIO()
    with progress.task("短い / short", total=5, stream=out, clock=clock, tty=False, artifact=False) as p:
        clock.tick(3)
        p.advance(5)
    assert out.getvalue() == ""
    with progress.task("件数不明 / unknown total", stream=out, clock=clock, tty=False, artifact=False) as p:
        clock.tick(11)
        p.advance(7)
    assert _lines(out) == ["[progress] 件数不明 / unknown total: 7 done, 0:00:11 elapsed",
                           "[progress] 件数不明 / unknown total: done, 7 in 0:00:11"]


def test_absolute_updates_and_a_failed_step_says_where_it_stopped():
    clock, out = FakeClock(), io.StringIO()
    with pytest.raises(RuntimeError, match="boom"):
        with progress.task("生成 / generating", stream=out, clock=clock, tty=False, artifact=False) as p:
            clock.tick(20)
            p.update(2, 8)  # the generator's progress(done, total) callback
            raise RuntimeError("boom")
    assert _lines(out) == ["[progress] 生成 / generating: 2/8 (25%), 0:00:20 elapsed, ETA 0:01:00",
                           "[progress] 生成 / generating: stopped, 2/8 in 0:00:20"]


def test_on_a_terminal_a_rich_bar():
    out = io.StringIO()
    with progress.task("スコア計算 / scoring", total=4, stream=out, tty=True, artifact=False) as p:
        with progress.task("内側 / inner", total=2, stream=out, tty=True, artifact=False) as inner:
            inner.advance(2)
        p.advance(4)
    shown = out.getvalue()
    assert "スコア計算 / scoring" in shown and "4/4" in shown and "内側 / inner" in shown and "2/2" in shown
    assert "[progress]" not in shown


def test_artifact_keys_come_from_the_english_label():
    assert progress.default_key("指標を計算 / computing indicators") == "progress-computing-indicators"
    assert progress.default_key("取込") == "progress-step"
    assert not progress.in_prefect_run()


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_inside_a_flow_run_a_progress_artifact_reaches_100(prefect_server):
    from tests.test_flows import _artifact

    clock = FakeClock()
    seen: list[float] = []

    @flow
    def counting() -> bool:
        with progress.task("数える / counting", total=4, stream=io.StringIO(), clock=clock) as p:
            for _ in range(4):
                clock.tick(progress.ARTIFACT_EVERY)
                p.advance()
                seen.append(_artifact("progress-counting")["data"])
        return progress.in_prefect_run()

    assert counting()
    # updated along the way (every ARTIFACT_EVERY seconds), then 100 at the end
    assert seen == [25.0, 50.0, 75.0, 100.0]
    final = _artifact("progress-counting")
    assert final["type"] == "progress" and final["data"] == 100.0
    assert final["description"].startswith("数える / counting: 4/4 (100%)")
