r"""HL7 v2 encoding rules (ER7, the pipe-delimited form): files cut into messages, delimiters, escape sequences.

Used by :mod:`medlens.io.hl7_reader`; kept apart so the reader stays about reports, and usable without python-hl7.
References: HL7 v2.5.1 chapter 2 (2.5 message delimiters, 2.7 escape sequences, 2.10.3 batch protocol) and the
MLLP framing of HL7 v2 Transport Specification MLLP release 2 (start block 0x0B, end block 0x1C 0x0D).

Lines are counted as the reader reports them: 1-based, a line ended by ``\r``, ``\n`` or ``\r\n``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from medlens.core.errors import InputError

__all__ = ["Delimiters", "RawMessage", "RawSegment", "parse_delimiters", "split_messages", "unescape_hl7"]

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_HEADERS = frozenset({"MSH", "FHS", "FTS", "BHS", "BTS"})  # message header and batch/file envelope segments
_NEWLINE = re.compile(r"(\r\n|\r|\n)")
_FRAME = re.compile(r"([\x0b\x1c])")
_LONE_CR = re.compile(r"(?<!\x1c)\r(?!\n)")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9A-Fa-f]*")
_MAX_REPEAT = 100  # cap for \.sp<n>\ and \.sk<n>\ so a hostile count cannot blow up memory


# --- escape sequences (HL7 v2.5.1 section 2.7) -------------------------------------------------------------------


class Delimiters(NamedTuple):
    """The delimiters a message declares in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""  # v2.7+: optional fifth MSH-2 character


_DEFAULT = Delimiters()


@functools.cache
def _escape_pattern(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(f"{e}([^{e}]*){e}")


def _count(argument: str, default: int) -> int:
    argument = argument.strip()
    if not argument:
        return default
    try:
        return max(0, min(int(argument), _MAX_REPEAT))
    except ValueError:
        return default


def unescape_hl7(value: str, delimiters: Delimiters = _DEFAULT, *, codec: str = "utf-8") -> str:
    r"""Replace HL7 v2 escape sequences in a field value (HL7 v2.5.1 sections 2.7.1-2.7.6).

    ``\F\ \S\ \T\ \R\ \E\`` give the delimiters (``\P\`` the truncation character when declared); ``\Xhh..\`` the
    bytes ``hh..`` decoded with ``codec`` (ISO-8859-1 when they are not valid in it); formatting commands give plain
    text: ``\.br\`` and ``\.ce\`` a newline, ``\.sp<n>\`` a newline and ``n`` (default 1) blank lines, ``\.sk<n>\``
    ``n`` spaces; ``\H\``, ``\N\`` (highlighting), ``\.fi\``, ``\.nf\``, ``\.in<n>\``, ``\.ti<n>\`` (layout),
    ``\Cxxyy\``, ``\Mxxyyzz\`` (character set switches) and ``\Z..\`` (local) are removed. Anything else between two
    escape characters is not an HL7 escape and is kept as written, as is a lone escape character.

    >>> unescape_hl7(r"Heart size normal.\.br\No effusion \T\ no pneumothorax \F\ stable")
    'Heart size normal.\nNo effusion & no pneumothorax | stable'
    """
    escape = delimiters.escape
    if not escape or escape not in value:
        return value
    simple = {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": escape,
        "H": "",
        "N": "",
    }
    if delimiters.truncation:
        simple["P"] = delimiters.truncation

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        if body in simple:
            return simple[body]
        head = body[:1]
        if head == "X":
            digits = body[1:]
            if len(digits) % 2 == 0 and _HEX.fullmatch(digits):
                raw = bytes.fromhex(digits)
                try:
                    return raw.decode(codec)
                except (UnicodeDecodeError, LookupError):
                    return raw.decode("latin-1")
            return match.group(0)
        if head in ("C", "M") and body[1:] and _HEX.fullmatch(body[1:]):
            return ""
        if head == "Z":
            return ""
        if head == ".":
            command, argument = body[1:3].lower(), body[3:]
            if command in ("br", "ce") and not argument.strip():
                return "\n"
            if command == "sp":
                return "\n" * (1 + _count(argument, 1))
            if command == "sk":
                return " " * _count(argument, 1)
            if command in ("fi", "nf", "in", "ti"):
                return ""
        return match.group(0)

    return _escape_pattern(escape).sub(replace, value)


# --- splitting a file into messages -----------------------------------------------------------------------------


@dataclass
class RawSegment:
    """One segment as found in the file: its line, offset and undecoded text."""

    line: int
    offset: int  # character offset in the split text (= byte offset in the file for read_hl7)
    text: str


@dataclass
class RawMessage:
    """The segments of one message (the first is its MSH) and the problem found while cutting it, if any."""

    line: int
    segments: list[RawSegment] = field(default_factory=list)
    problem: str | None = None


@dataclass
class _Envelope:
    kind: str  # "FHS" or "BHS"
    line: int
    count: int = 0


class _Splitter:
    """Cuts text into raw messages, tracking lines, MLLP frames and FHS/BHS envelopes; reports what is cut short."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.current: RawMessage | None = None
        self.orphan_line: int | None = None
        self.frame_line: int | None = None
        self.file: _Envelope | None = None
        self.batch: _Envelope | None = None
        self.messages = 0

    def error(self, message: str, line: int, code: str = "ML104") -> InputError:
        return InputError(message, code=code, source=self.source, line=line)

    def split(self, text: str) -> Iterator[RawMessage | InputError]:
        cr_segments = _LONE_CR.search(text) is not None
        parts = _NEWLINE.split(text)
        offset = 0
        for index in range(0, len(parts), 2):
            line_text = parts[index]
            terminator = parts[index - 1] if index else ""
            number = index // 2 + 1
            framed = "\x0b" in line_text or "\x1c" in line_text
            pieces = _FRAME.split(line_text) if framed else [line_text]
            piece_offset = offset
            for position, piece in enumerate(pieces):
                if piece == "\x0b":
                    yield from self._frame_start(number)
                elif piece == "\x1c":
                    yield from self._flush()
                    self.frame_line = None
                elif piece or position == 0:
                    # A bare "\n" inside a file whose segments end with "\r" is a line break inside a field.
                    continuation = cr_segments and position == 0 and terminator == "\n"
                    yield from self._piece(piece, number, piece_offset, continuation=continuation)
                piece_offset += len(piece)
            offset += len(line_text) + (len(parts[index + 1]) if index + 1 < len(parts) else 0)
        yield from self._finish()

    def _frame_start(self, number: int) -> Iterator[RawMessage | InputError]:
        if self.frame_line is not None and self.current is not None:
            self.current.problem = self.current.problem or self._cut_frame()
        yield from self._flush()
        self.frame_line = number

    def _cut_frame(self) -> str:
        return (
            f"MLLP frame started at line {self.frame_line} is not closed by the end-block character 0x1C; the "
            "message is probably truncated"
        )

    def _flush(self) -> Iterator[RawMessage | InputError]:
        if self.current is not None:
            yield self.current
            self.current = None

    def _orphans_end(self) -> Iterator[InputError]:
        if self.orphan_line is not None:
            yield self.error(
                f"line {self.orphan_line} and the lines after it up to the next message are not inside an HL7 "
                "message (no MSH segment before them); they are skipped",
                self.orphan_line,
            )
            self.orphan_line = None

    def _piece(self, piece: str, number: int, offset: int, *, continuation: bool) -> Iterator[RawMessage | InputError]:
        current = self.current
        segment_id = piece[:3] if _SEGMENT_ID.match(piece) else ""
        header = segment_id in _HEADERS and not piece[3:4].isalnum()
        if current is not None and continuation and not header:
            separator = current.segments[0].text[3:4]
            if not (segment_id and piece[3:4] in ("", separator)):
                last = current.segments[-1]
                last.text = f"{last.text}\n{piece}"
                return
        if not piece.strip():
            return
        if header and segment_id == "MSH":
            yield from self._flush()
            yield from self._orphans_end()
            self.current = RawMessage(line=number, segments=[RawSegment(number, offset, piece)])
            self.messages += 1
            if self.batch is not None:
                self.batch.count += 1
            return
        if header:
            yield from self._flush()
            yield from self._orphans_end()
            yield from self._envelope(segment_id, piece, number)
            return
        if current is None:
            if self.orphan_line is None:
                self.orphan_line = number
            return
        separator = current.segments[0].text[3:4]
        if segment_id and piece[3:4] in ("", separator):
            current.segments.append(RawSegment(number, offset, piece))
        elif current.problem is None:
            current.problem = (
                f"line {number} is not an HL7 segment (it does not start with a 3-character segment id and the "
                "field separator); the message may be cut or wrapped - line breaks inside a field must be sent "
                "as the escape \\.br\\"
            )

    def _envelope(self, segment_id: str, piece: str, number: int) -> Iterator[InputError]:
        if segment_id == "FHS":
            if self.file is not None:
                yield self._unclosed(self.file)
            self.file = _Envelope("FHS", number)
        elif segment_id == "BHS":
            if self.batch is not None:
                yield self._unclosed(self.batch)
            self.batch = _Envelope("BHS", number)
            if self.file is not None:
                self.file.count += 1
        elif segment_id == "BTS":
            if self.batch is not None:
                yield from self._check_count(self.batch, piece, number, "messages")
            self.batch = None
        elif segment_id == "FTS":
            if self.batch is not None:
                yield self._unclosed(self.batch)
                self.batch = None
            if self.file is not None:
                yield from self._check_count(self.file, piece, number, "batches")
            self.file = None

    def _check_count(self, envelope: _Envelope, piece: str, number: int, what: str) -> Iterator[InputError]:
        fields = piece.split(piece[3]) if len(piece) > 3 else []
        stated = fields[1].strip() if len(fields) > 1 else ""
        if _DIGITS.fullmatch(stated) and int(stated) != envelope.count:
            trailer = "BTS" if envelope.kind == "BHS" else "FTS"
            yield self.error(
                f"{trailer}-1 says the {envelope.kind} at line {envelope.line} holds {int(stated)} {what} but "
                f"{envelope.count} were read; the file may be truncated",
                number,
            )

    def _unclosed(self, envelope: _Envelope) -> InputError:
        trailer = "BTS" if envelope.kind == "BHS" else "FTS"
        return self.error(
            f"{envelope.kind} at line {envelope.line} has no {trailer} trailer; the file may be truncated",
            envelope.line,
        )

    def _finish(self) -> Iterator[RawMessage | InputError]:
        if self.frame_line is not None and self.current is not None:
            self.current.problem = self.current.problem or self._cut_frame()
        yield from self._flush()
        if self.messages == 0 and self.orphan_line is not None:
            yield self.error("no MSH segment found; this is not an HL7 v2 message file", self.orphan_line)
            return
        yield from self._orphans_end()
        for envelope in (self.batch, self.file):
            if envelope is not None:
                yield self._unclosed(envelope)
        if self.messages == 0:
            yield InputError("no HL7 message in the input (no MSH segment)", code="ML102", source=self.source)


# --- delimiters (MSH-1, MSH-2) --------------------------------------------------------------------------------


def _is_delimiter(char: str) -> bool:
    return len(char) == 1 and "!" <= char <= "~" and not char.isalnum()


def parse_delimiters(msh: str) -> Delimiters | str:
    """The delimiters an MSH segment declares (MSH-1, MSH-2), or a sentence saying what is wrong with them.

    MSH-2 must hold 4 characters (5 from v2.7 on, the last being the truncation character), all printable ASCII
    punctuation, distinct and different from the field separator (HL7 v2.5.1 section 2.5.4).
    """
    separator = msh[3:4]
    if not separator:
        return "MSH segment has no field separator (MSH-1)"
    if not _is_delimiter(separator):
        return f"MSH-1 field separator U+{ord(separator):04X} is not a printable ASCII punctuation character"
    end = msh.find(separator, 4)
    if end == -1:
        return "MSH segment ends after MSH-2; the message is cut short or its encoding characters are wrong"
    encoding = msh[4:end]
    if (
        len(encoding) not in (4, 5)
        or not all(_is_delimiter(c) for c in encoding)
        or separator in encoding
        or len(set(encoding)) != len(encoding)
    ):
        return (
            f"MSH-2 encoding characters must be 4 (or 5) distinct punctuation characters other than the field "
            f"separator, like ^~\\&; found {len(encoding)} character(s) that are not"
        )
    return Delimiters(separator, encoding[0], encoding[1], encoding[2], encoding[3], encoding[4:5])


def split_messages(text: str, *, source: str) -> Iterator[RawMessage | InputError]:
    r"""Cut text into raw messages: at each MSH, at MLLP frame boundaries, around FHS/BHS/BTS/FTS envelopes.

    Blank lines are skipped. When the text separates segments with a lone ``\r`` (the standard), a bare ``\n``
    that does not start a segment is a line break inside the field before it and is kept there.

    Args:
        text: The file's text (for raw bytes, their ISO-8859-1 decoding, so offsets are byte offsets).
        source: File name for errors.

    Yields:
        Raw messages in file order (a message cut short carries its ``problem``), and ML104 InputErrors for lines
        outside any message, MLLP frames or envelopes cut short and BTS/FTS counts that do not match; ML102 when
        the text holds no message at all.
    """
    yield from _Splitter(source).split(text)
