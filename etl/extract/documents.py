"""What reading an input yields: a `Document` (an article file's text and what the file says about itself),
or, for input that holds no usable article, an `Unreadable` error and the `Rejection` a run lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Rejection:
    """An input set aside, with a reason code and a sentence an operator can act on."""

    file: str
    reason: str
    detail: str


class Unreadable(ValueError):
    """A file that holds no readable article: `reason` is the code rejected_inputs shows."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Document:
    """An article file read: its text, its format and encoding, and what the file itself says about it
    (empty where it says nothing)."""

    text: str
    format: str = "txt"
    encoding: str = "utf-8"
    title: str = ""
    published: date | None = None
    outlet: str = ""
    url: str = ""
