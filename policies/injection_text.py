"""Text views for the injection rules: folded, Latin skeleton, leetspeak, squashed, ROT13, decoded.

Why: attackers dodge phrase rules with case, spacing, look-alike letters from other scripts,
accents, letters split by dots or spaces, ROT13, base64 and hex. Each view undoes one of those
tricks, so one phrase table can be applied to all of them. Every view is bounded and linear in
the text: a 10 KB message costs well under a millisecond (see docs/input_guard.md).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

# --------------------------------------------------------------------------------------------
# Invisible characters
# --------------------------------------------------------------------------------------------

_ALLOWED = frozenset("\n\r\t\u200c\u200d")
"""Line breaks and tabs, and the zero-width (non-)joiners used in emoji, Persian and Indic text."""
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_JAMO = (*range(0x1100, 0x1200), *range(0xA960, 0xA980), *range(0xD7B0, 0xD800))
# Planes 3-13, 15 and 16 hold no control, format, combining or decomposable character.
_SCANNED = (range(0x30000), range(0xE0000, 0xE1000))


def _ranges(codepoints: list[int]) -> str:
    """A regex character-class body covering the sorted code points as ranges."""
    out, start = [], None
    for i, cp in enumerate(codepoints):
        start = cp if start is None else start
        if i + 1 == len(codepoints) or codepoints[i + 1] != cp + 1:
            out.append(re.escape(chr(start)) + ("-" + re.escape(chr(cp)) if cp != start else ""))
            start = None
    return "".join(out)


def _classes() -> tuple[re.Pattern[str], re.Pattern[str], frozenset[str], frozenset[str]]:
    """Built once at import from this Python's Unicode tables (about 0.1 s).

    Returns the BMP forbidden characters (Cc, Cf, Cs and bidi controls) as a class, the runs of
    BMP characters NFKC may change or compose (those NFKC changes on their own, combining marks,
    and conjoining Hangul jamo, the only composition partners that are neither), and the same
    two properties for characters beyond the BMP, as sets. `re` scans a class that reaches
    beyond the BMP range by range, so those characters are looked up one at a time instead.
    """
    forbidden, unstable = set(_BIDI), set(_JAMO)
    for block in _SCANNED:
        for cp in block:
            char = chr(cp)
            category = unicodedata.category(char)
            if category in ("Cc", "Cf", "Cs"):
                forbidden.add(cp)
            if category[0] == "M" or unicodedata.normalize("NFKC", char) != char:
                unstable.add(cp)
    forbidden -= {ord(c) for c in _ALLOWED}
    bmp = 0x10000
    return (
        re.compile(f"[{_ranges(sorted(cp for cp in forbidden if cp < bmp))}]"),
        re.compile(f"[{_ranges(sorted(cp for cp in unstable if cp < bmp))}]+"),
        frozenset(chr(cp) for cp in forbidden if cp >= bmp),
        frozenset(chr(cp) for cp in unstable if cp >= bmp),
    )


_FORBIDDEN_BMP, _UNSTABLE_RUN, _FORBIDDEN_ASTRAL, _UNSTABLE_ASTRAL = _classes()
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ASCII_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, normalising only the runs that can change.

    Why: CPython normalises a whole string on its slow path as soon as one character needs it, so
    one fullwidth "？" made a 10 KB Chinese message cost over a millisecond. A BMP character
    outside `_UNSTABLE_RUN` is a starter that nothing composes with, so each run of unstable
    characters, with the starter before it, normalises on its own to the same result. Text with
    an unstable character beyond the BMP (mathematical bold letters, say) takes the plain path.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    if not _UNSTABLE_ASTRAL.isdisjoint(_ASTRAL.findall(text)):
        return unicodedata.normalize("NFKC", text)
    out, last = [], 0
    for run in _UNSTABLE_RUN.finditer(text):
        start = max(run.start() - 1, last)
        out += (text[last:start], unicodedata.normalize("NFKC", text[start : run.end()]))
        last = run.end()
    out.append(text[last:])
    return "".join(out)


def forbidden_chars(text: str) -> list[str]:
    """Return the forbidden characters in text: invisible controls, format and bidi characters.

    One regex pass over the text, plus a set lookup for each character beyond the BMP (emoji and
    Unicode tag characters); no Python loop over the whole text.
    """
    if text.isascii():
        return _ASCII_FORBIDDEN.findall(text)
    return _FORBIDDEN_BMP.findall(text) + [
        c for c in _ASTRAL.findall(text) if c in _FORBIDDEN_ASTRAL
    ]


def strip_invisible(text: str) -> str:
    """Drop forbidden characters, so "ig<ZWSP>nore" reads as "ignore"."""
    if text.isascii():
        return _ASCII_FORBIDDEN.sub("", text)
    text = _FORBIDDEN_BMP.sub("", text)
    for char in {c for c in _ASTRAL.findall(text) if c in _FORBIDDEN_ASTRAL}:
        text = text.replace(char, "")
    return text


# --------------------------------------------------------------------------------------------
# Folding
# --------------------------------------------------------------------------------------------

_ODD_SPACES = ("  ", " \n", "\n ", "\n\n", "\t", "\r", "\u2028", "\u2029", "\u1680")
"""Whitespace that collapsing would change. NFKC has turned other spaces into " ", and the other
control characters are denied (user input) or stripped (tool output) before folding."""


def fold(text: str) -> str:
    """Lower-case, drop joiners, collapse each line's spaces; line breaks survive as one "\\n"."""
    text = text.lower()
    if "\u200c" in text or "\u200d" in text:
        text = text.replace("\u200c", "").replace("\u200d", "")
    if not any(odd in text for odd in _ODD_SPACES):
        return text
    return "\n".join(joined for line in text.splitlines() if (joined := " ".join(line.split())))


# Latin look-alikes from Cyrillic, Greek, Armenian, IPA and small capitals (after lower-casing),
# the letters garak's homoglyph probe and Unicode's confusables list give for Latin ones.
_CONFUSABLE_FROM = "асеорхуіїѕјԁԛԝһкмнтвгпɡɑɩοαεικνρτυχϲօսհᴀʙᴄᴅᴇɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ"
_CONFUSABLE_TO = "aceopxyiisjdqwhkmhtbrngaioaeikvptuxcouhabcdeghijklmnoprstuvwyz"
_CONFUSABLES = str.maketrans(_CONFUSABLE_FROM, _CONFUSABLE_TO)
_MIXED = re.compile(f"[a-z][{_CONFUSABLE_FROM}]")
_ACCENTED = re.compile("[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f]")
_TYPOGRAPHIC = (
    ("\u2019", "'"),
    ("\u2018", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2013", "-"),
    ("\u2014", "-"),
    ("\u20ac", "eur "),
    ("\u00a3", "gbp "),
)


def _base_letter(match: re.Match[str]) -> str:
    """A Latin letter without its accents ("é" -> "e", "ı" -> "i"); a lone combining mark -> ""."""
    char = match.group(0)
    if char == "\u0131":
        return "i"
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


def latin(folded: str) -> str:
    """The ASCII skeleton that English and other Latin-script rules read.

    Accents are stripped, typographic quotes and dashes become ASCII, and where a Latin letter
    touches a look-alike from another script, look-alikes map to Latin ("Іgnоrе" -> "ignore").
    Whatever is still not ASCII is dropped, so a Russian message keeps its Latin words only
    (the Russian rules read the folded text instead).
    """
    if folded.isascii():
        return folded
    text = _ACCENTED.sub(_base_letter, folded)
    for char, ascii_form in _TYPOGRAPHIC:
        if char in text:
            text = text.replace(char, ascii_form)
    if _MIXED.search(text) or _MIXED.search(text[::-1]):
        text = text.translate(_CONFUSABLES)
    return text.encode("ascii", "ignore").decode()


_LEET = str.maketrans("013457@$", "oieastas")
_LEET_HINT = re.compile(r"[a-z][013457@$][a-z]")
_SPACED = re.compile(r"[a-z][ .*_/|-]{1,3}[a-z][ .*_/|-]{1,3}[a-z][ .*_/|-]{1,3}[a-z][ .*_/|-]")
_LETTERS_ONLY = str.maketrans(
    "", "", "".join(chr(c) for c in range(128) if not "a" <= chr(c) <= "z")
)
_SPLIT = re.compile(r"[-.*_](?<=[a-z][-.*_])(?=[a-z])")  # class first: scanned fast


def leet(ascii_text: str) -> str | None:
    """Digits read as letters ("1gn0r3" -> "ignore"), or None if nothing looks like leetspeak."""
    return ascii_text.translate(_LEET) if _LEET_HINT.search(ascii_text) else None


def squashed(ascii_text: str, *, force: bool = False) -> str | None:
    """Letters only, if single letters are spaced ("i g n o r e") or force is set, else None."""
    return ascii_text.translate(_LETTERS_ONLY) if force or _SPACED.search(ascii_text) else None


def unsplit(ascii_text: str) -> str | None:
    """Words rejoined where a hyphen, dot or star splits them ("ig-nore"), else None."""
    return _SPLIT.sub("", ascii_text) if _SPLIT.search(ascii_text) else None


_ROT13 = str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")


_ROT13_HINTS = tuple(
    w.translate(_ROT13)
    for w in (
        "ignor",
        "previous",
        "instruc",
        "system",
        "prompt",
        "print",
        "reveal",
        "disregard",
        "forget",
        "you",
        " the ",
        " and ",
    )
)


def rot13(ascii_text: str) -> str | None:
    """ROT13 reading of the (already lower-cased) ASCII text, if it has ROT13 words, else None."""
    return ascii_text.translate(_ROT13) if any(h in ascii_text for h in _ROT13_HINTS) else None


# --------------------------------------------------------------------------------------------
# Encoded payloads
# --------------------------------------------------------------------------------------------

_CANDIDATE = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
MAX_CANDIDATES = 256
"""At most this many runs are decoded per text; each character is in at most one run, so the work
is linear in the text, and the decoded texts are checked together, once per encoding."""
MAX_RUN = 8192
"""Longer runs are cut to this many characters before decoding."""


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return text if len(text) >= 8 and shown >= 0.9 * len(text) else None


def _decode(run: str) -> str | None:
    run = run[:MAX_RUN]
    if _HEX.fullmatch(run):
        return _printable(binascii.unhexlify(run))
    body = run.rstrip("=")
    if len(body) % 4 == 1 or not re.search("[a-z]", body) or not re.search("[A-Z0-9]", body):
        return None  # not base64-shaped: a plain word, or all one case
    padded = body + "=" * (-len(body) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded)
            if re.search("[-_]", body)
            else base64.b64decode(padded)
        )
    except (binascii.Error, ValueError):
        return None
    return _printable(raw)


def decoded_payloads(text: str) -> list[tuple[str, str]]:
    """(encoding, decoded text) for the first base64- or hex-looking runs that decode to text."""
    out: list[tuple[str, str]] = []
    ascii_text = text if text.isascii() else text.encode("ascii", "ignore").decode()
    for token in ascii_text.split():
        if len(token) < 16:
            continue  # most words: skipping them here is cheaper than letting the regex try
        for match in _CANDIDATE.finditer(token):
            if len(out) >= MAX_CANDIDATES:
                return out
            run = match.group(0)
            decoded = _decode(run)
            if decoded is not None:
                out.append(("hex" if _HEX.fullmatch(run[:MAX_RUN]) else "base64", decoded))
    return out
