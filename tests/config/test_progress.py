"""config.progress: a bar on a terminal, plain rate-limited lines anywhere else."""

from __future__ import annotations

import gzip
import io
import logging

from django.core.management.base import OutputWrapper

from config.progress import Progress, StageHandler, count_lines, is_terminal


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_every_ten_percent_then_a_final_line():
    out = io.StringIO()
    with Progress("rows", 1000, stream=out) as bar:
        for done in range(0, 1001, 7):
            bar.update(done)
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines[:-1]] == [
        f"rows: {n:,}/1,000" for n in (105, 203, 301, 406, 504, 602, 700, 805, 903)
    ]
    assert lines[-1].startswith("rows: 1,000/1,000 (100%) done in ")
    assert "\r" not in out.getvalue()


def test_unknown_total_writes_each_update():
    out = io.StringIO()
    bar = Progress("events read", stream=out)
    bar.update(10_000)
    bar.update(20_000)
    bar.close()
    bar.close()  # once only
    assert out.getvalue().splitlines()[:2] == ["events read: 10,000", "events read: 20,000"]
    assert len(out.getvalue().splitlines()) == 3


def test_a_failed_run_says_stopped_where_it_was():
    out = io.StringIO()
    try:
        with Progress("rows", 10, stream=out) as bar:
            bar.update(3)
            raise RuntimeError
    except RuntimeError:
        pass
    assert out.getvalue().splitlines()[-1].startswith("rows: 3/10 (30%) stopped in ")


def test_terminal_redraws_one_line():
    out = Terminal()
    assert is_terminal(OutputWrapper(out))
    with Progress("shoppers", 4, stream=OutputWrapper(out), min_seconds=0) as bar:
        for done in range(1, 5):
            bar.update(done)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("s\n")  # one line, redrawn with \r
    assert text.count("\r") == 5
    assert "\rshoppers [" + "#" * 15 + "-" * 15 + "]  50% 2/4" in text
    assert "[" + "#" * 30 + "] 100% 4/4" in text


def test_django_output_wrapper_gets_no_extra_newlines():
    out = io.StringIO()
    with Progress("x", 2, stream=OutputWrapper(out)) as bar:
        bar.update(1)
    assert out.getvalue().count("\n") == 2  # the 50% line and the final one


def test_count_lines_of_plain_and_gzip_files(tmp_path):
    text = "".join(f"line {i}\n" for i in range(2500))
    (tmp_path / "a.csv").write_text(text)
    with gzip.open(tmp_path / "a.csv.gz", "wt") as fh:
        fh.write(text)
    assert count_lines(str(tmp_path / "a.csv")) == 2500
    assert count_lines(str(tmp_path / "a.csv.gz"), gzip.open) == 2500


def test_stage_handler_turns_stage_records_into_progress():
    out = io.StringIO()
    logger = logging.getLogger("tests.progress.stages")
    logger.setLevel(logging.INFO)
    handler = StageHandler(out)
    logger.addHandler(handler)
    try:
        logger.info("x", extra={"stage": "extract", "done": 0, "total": 1})
        for i in range(3):
            logger.info("x", extra={"stage": "train", "done": i, "total": 3, "detail": f"m{i}"})
        logger.info("x", extra={"stage": "train", "done": 3, "total": 3})
        logger.info("not a stage")
    finally:
        logger.removeHandler(handler)
        handler.finish()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("extract: 1/1 (100%) done in ")
    assert lines[1:3] == ["train (m1): 1/3 (33%)", "train (m2): 2/3 (66%)"]
    assert lines[3].startswith("train: 3/3 (100%) done in ")
    assert len(lines) == 4
