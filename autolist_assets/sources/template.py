"""Whole-page templates: the fast path of both site adapters, with the DOM extractors as the reference.

Each site renders its pages from a server template. When a page matches its whole template, every byte of it
(the markup fixed, only texts and attribute values varying), its values are read straight from the match, at a
fraction of a DOM's cost. Because the match covers the whole page, nothing can hide from it: no script, comment,
second price block or extra element. Any page that differs in any way goes to the DOM extractor, so the fast path
can only be skipped, never wrong by itself; the parser tests check that both paths agree on every demo page.
"""

from __future__ import annotations

import re
from html import unescape as _html_unescape

# Repetitions in the templates are possessive (`*+`): a text ends at the "<" that follows it and a value at its
# closing quote, and a run of elements ends where the markup after it, which never starts like one more element,
# begins. Giving characters or elements back could never make a page match, and not keeping those backtrack
# points makes a match about a tenth faster; a page that needed them would only take the DOM path.

# A text node without child elements. HTML parsers normalise \r and NUL in text, so those pages take the DOM path.
TEXT = r"[^<\r\x00]*+"
# A double-quoted attribute value (the quotes are part of the match).
VALUE = r'"[^"<\r\x00]*+"'
# The document start and a head of meta, title and link elements only (a script there means the DOM path). Links
# must be written rel-then-href, so that the fast path can read rel="next" without parsing attributes.
HEAD = (
    r"<!DOCTYPE html><html[^<>]*+><head>"
    rf"(?P<head>(?:<meta [^<>]*+>|<title>{TEXT}</title>|<link rel={VALUE} href={VALUE}>)*+)</head>"
)
# (rel, href) of each link in a matched head
HEAD_LINK_RE = re.compile(r'<link rel="([^"]*)" href="([^"]*)">')


def unescape(text: str) -> str:
    """A matched text or attribute value as a DOM reads it: character references decoded as HTML5 does."""
    return _html_unescape(text) if "&" in text else text
