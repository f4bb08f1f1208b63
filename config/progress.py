"""Progress of long commands: a bar redrawn in place on a terminal, plain lines in logs.

Neutral on purpose (shop, demo and recommendations commands all use it):

    with Progress("interactions", total=n, stream=self.stderr) as bar:
        for chunk in chunks:
            ...
            bar.update(done)

On a terminal (``stream.isatty()``) one line is redrawn at most every ``min_seconds``.
Anywhere else (a log file, a container's stdout) a plain ``label: 450/1,000 (45%)`` line
is written each time another ``every_percent`` is reached, so logs stay short and the
output does not depend on timing. With no known total each update writes a line.
Pass stderr where stdout carries the command's own output (CSV, JSON, a summary).
"""

from __future__ import annotations

import logging
import time
from typing import IO, Any

BAR_WIDTH = 30


def _raw(stream: Any) -> Any:
    """The file under Django's OutputWrapper (which appends a newline to every write)."""
    return getattr(stream, "_out", stream)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return bool(_raw(stream).isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class Progress:
    """A progress bar (terminal) or rate-limited progress lines (anything else)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: IO[str] | Any,
        every_percent: int = 10,
        min_seconds: float = 0.1,
        terminal: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total if total and total > 0 else None
        self.out = _raw(stream)
        self.every_percent = max(1, every_percent)
        self.min_seconds = min_seconds
        self.terminal = is_terminal(stream) if terminal is None else terminal
        self.done = 0
        self.started = time.monotonic()
        self._drawn_at = float("-inf")
        self._next_percent = self.every_percent
        self._closed = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(ok=exc[0] is None)

    def _percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    def _text(self) -> str:
        if self.total is None:
            return f"{self.label}: {self.done:,}"
        return f"{self.label}: {self.done:,}/{self.total:,} ({self._percent()}%)"

    def _bar(self) -> str:
        if self.total is None:
            return f"\r{self._text()}\x1b[K"
        filled = int(BAR_WIDTH * min(self.done, self.total) / self.total)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"\r{self.label} [{bar}] {self._percent():3d}% {self.done:,}/{self.total:,}\x1b[K"

    def update(self, done: int) -> None:
        """Set how much is done (absolute)."""
        self.done = done
        if self.terminal:
            now = time.monotonic()
            if now - self._drawn_at >= self.min_seconds:
                self._drawn_at = now
                self.out.write(self._bar())
                self.out.flush()
        elif self.total is None:
            self.out.write(self._text() + "\n")
        elif self._percent() >= self._next_percent and done < self.total:
            self.out.write(self._text() + "\n")
            step = self.every_percent
            self._next_percent = (self._percent() // step + 1) * step

    def advance(self, n: int = 1) -> None:
        """Add ``n`` to what is done."""
        self.update(self.done + n)

    def close(self, ok: bool = True) -> None:
        """Write the final state once (the whole bar, or a last line with the time taken)."""
        if self._closed:
            return
        self._closed = True
        if ok and self.total:
            self.done = max(self.done, self.total)
        seconds = time.monotonic() - self.started
        if self.terminal:
            self.out.write(self._bar() + f" {seconds:.1f}s\n")
        else:
            self.out.write(f"{self._text()} {'done' if ok else 'stopped'} in {seconds:.1f}s\n")
        self.out.flush()


def count_lines(path: str, opener: Any = open) -> int:
    """Lines in a (text or gzip) file, counted in binary blocks: the total for a bar."""
    with opener(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))


class StageHandler(logging.Handler):
    """Shows log records that carry ``stage``/``done``/``total`` as progress on a stream.

    Attach it to the logger a long job reports stages on; each new stage closes the
    previous stage's bar and opens one for the new stage.
    """

    def __init__(self, stream: Any, terminal: bool | None = None) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.terminal = terminal
        self.current: Progress | None = None

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", None)
        if stage is None:
            return
        done, total = int(getattr(record, "done", 0)), int(getattr(record, "total", 0))
        label = stage + (f" ({record.detail})" if getattr(record, "detail", "") else "")
        if self.current is None or self.current.label.split(" (")[0] != stage:
            self.finish()
            self.current = Progress(label, total, stream=self.stream, terminal=self.terminal)
        self.current.label = label
        if total:
            self.current.total = total
        self.current.update(done)

    def finish(self) -> None:
        """Close the open stage's bar, if any."""
        if self.current is not None:
            self.current.close()
            self.current = None
