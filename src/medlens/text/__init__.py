"""The text engine every text family reuses: sections, sentences, tokens, assertion, measurements, dates."""

from medlens.text.analysis import TextAnalysis, analyze
from medlens.text.assertion import assert_target, assertion_lines
from medlens.text.context import ContextEngine
from medlens.text.sections import Section, detect_sections
from medlens.text.sentences import split_sentences
from medlens.text.tokens import tokenize

__all__ = [
    "ContextEngine",
    "Section",
    "TextAnalysis",
    "analyze",
    "assert_target",
    "assertion_lines",
    "detect_sections",
    "split_sentences",
    "tokenize",
]
