"""Secrets never reach a log line: every log record is redacted when it is created (a record
hook, so it applies to every logger and handler, libraries' debug logs and tracebacks included).

Two lines of defence, applied to each record:
1. every secret the process holds or receives, registered as it arrives (the environment's when
   logging is set up; AWS credentials as boto3 resolves, refreshes or receives them, see
   bot/adapters/aws/credential_redaction.py) and replaced wherever it appears;
2. patterns for what was never registered: the value of any field named like a credential (XML,
   JSON, Python reprs, query strings, HTTP headers, botocore's canonical requests), Slack tokens
   and webhooks, AWS access key ids, JWTs and URL passwords.

Cost per record (botocore logs many at DEBUG): one regex for all known secrets, rebuilt on
registration and shaped as a trie so that its cost hardly grows with their number; one regex for
all patterns, run over the lower-cased text (case-insensitive matching is slower), each of its
branches starting with a literal character so that the engine skips where none can start.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import traceback
from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

from bot.ops.record_hooks import add_record_hook

REDACTED = "[redacted]"
# Shorter values would be common words; the patterns still catch short ones by their field name.
MIN_SECRET_LENGTH = 8
# Refreshed credentials: the current set of each source, the one it replaced (requests signed
# before the refresh may still be logged) and one more (an AssumeRole chain answers twice).
GENERATIONS = 3
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",  # the older name botocore still reads
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)

# Names of fields whose values are credentials, in lower case (the text is matched lower-cased),
# words joined by nothing, _ or -: SecretAccessKey, secretAccessKey, X-Amz-Security-Token…
_FIELD_NAMES = (
    r"secret[_-]?(?:access[_-]?)?key",
    r"session[_-]?token",
    r"security[_-]?token",
    r"access[_-]?token",
    r"refresh[_-]?token",
    r"id[_-]?token",
    r"web[_-]?identity[_-]?token",
    r"t(?<![a-z0-9]t)oken",  # but not `nextToken`, a page cursor worth reading
    r"client[_-]?secret",
    r"signing[_-]?secret",
    r"external[_-]?id",
    r"passw(?:or)?d",
    r"authorization",
    r"signature",
    r"saml[_-]?assertion",
)
# `()` marks where the part of a match that is kept ends; what follows it is redacted.
# After a field's name: its closing quote, `:` or `=`, the value's opening (b-)quote, an auth
# scheme (possessive `?+`: never taken for the value, so `b'[redacted]'` stays as it is); the
# value ends at whitespace, a quote, a backslash (escaped JSON) or punctuation.
_FIELD_VALUE = (
    r"""\\?["']?\s*[:=]\s*(?:b?\\?["'])?+(?:(?:bearer|basic|aws4-hmac-sha256)\s+)?+()"""
    r"""[^\s"'\\<>&,;(){}\[\]]+"""
)
_FIELDS = (
    rf"<(?:{'|'.join(_FIELD_NAMES)})>()[^<]+",  # XML
    *(name + _FIELD_VALUE for name in _FIELD_NAMES),  # JSON, reprs, queries, headers
)
_SHAPES = (
    r"://[^\s:/@]*:()[^\s/@]+(?=@)",  # a URL's password
    r"hooks\.slack\.com/services/()[a-z0-9/]+",
    r"xox[a-z](?:\.xox[a-z])?-[a-z0-9.-]+",  # Slack tokens: xoxb, xoxp, xoxe.xoxp…
    r"xapp-[a-z0-9-]+",
    r"a(?<![a-z0-9]a)(?:kia|sia)[a-z0-9]{16}\b",  # AWS access key ids
    r"eyj(?<![a-z0-9_-]eyj)[a-z0-9_-]{8,}\.eyj[a-z0-9_-]{8,}\.[a-z0-9_-]*",  # JWTs
)
# Every branch starts with a literal character (lookbehinds come after it), so the regex engine
# skips the positions where none can start: several times faster on botocore's lines.
_PATTERN = "|".join(_FIELDS + _SHAPES)
_PATTERNS = re.compile(_PATTERN)
_PATTERNS_ANY_CASE = re.compile(_PATTERN, re.IGNORECASE)  # when lower() changes the length
_LAST_FIELD_GROUP = len(_FIELDS)

_Trie: TypeAlias = dict[str, "_Trie"]
_lock = threading.Lock()
_permanent: set[str] = set()
_refreshed: dict[Hashable, deque[frozenset[str]]] = {}
# Read without the lock: replaced whole, never changed in place.
_known: re.Pattern[str] | None = None


def redact(text: str) -> str:
    known = _known
    if known is not None:
        text = known.sub(REDACTED, text)
    parts: list[str] = []
    start = 0
    for keep, end in _redacted_spans(text):
        parts += (text[start:keep], REDACTED)
        start = end
    return "".join(parts) + text[start:] if parts else text


def credential_values(text: str) -> list[str]:
    """The values of the fields named like credentials in `text` (an API's answer, say)."""
    return [text[keep:end] for keep, end in _redacted_spans(text, fields_only=True)]


def _redacted_spans(text: str, *, fields_only: bool = False) -> Iterator[tuple[int, int]]:
    """(start, end) of each part of `text` to redact."""
    lower = text.lower()
    matches = (
        _PATTERNS.finditer(lower) if len(lower) == len(text) else _PATTERNS_ANY_CASE.finditer(text)
    )
    for match in matches:
        kept = match.lastindex  # the `()` of the branch that matched, if it has one
        if fields_only and not (kept and kept <= _LAST_FIELD_GROUP):
            continue
        yield (match.end(kept) if kept else match.start()), match.end()


def register_secrets(values: Iterable[str | None], *, source: Hashable | None = None) -> None:
    """Values that are secret wherever they appear (signing secret, AWS secret key…).

    Credentials that are refreshed name their `source` (the object refreshing them): only its
    latest GENERATIONS sets are kept, so a long-running process's list does not grow forever.
    """
    global _known
    wanted = frozenset(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)
    with _lock:
        if source is None:
            if wanted <= _permanent:
                return
            _permanent.update(wanted)
        else:
            generations = _refreshed.setdefault(source, deque(maxlen=GENERATIONS))
            if not wanted or (generations and generations[-1] == wanted):
                return
            generations.append(wanted)
        every = _permanent.union(*(s for g in _refreshed.values() for s in g))
        _known = re.compile(_trie(every)) if every else None


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of `words`, the longest where several match, factored like a trie
    (`ab(?:c|d)`, not `abc|abd`): the regex engine tries the alternatives of a group one by one."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _trie_node(root)


def _trie_node(node: _Trie) -> str:
    branches = []
    for char, child in node.items():
        if not char:
            continue
        literal = [char]
        while len(child) == 1 and "" not in child:  # no choice to make: one literal
            ((next_char, child),) = child.items()
            literal.append(next_char)
        branches.append(re.escape("".join(literal)) + _trie_node(child))
    if not branches:
        return ""
    group = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    # Greedy: the longer words through this node are tried before the one ending here.
    return f"(?:{group})?" if "" in node else group


def register_environment(env: Mapping[str, str]) -> None:
    """The secrets among the variables iamauth and boto3 read, and DATABASE_URL's password."""
    register_secrets([env.get(name) for name in SECRET_VARIABLES])
    register_secrets(_url_password(env.get("DATABASE_URL")))


def _url_password(url: str | None) -> list[str]:
    try:
        password = urlsplit(url or "").password
    except ValueError:  # not a URL: the driver refuses it before using any password
        return []
    return [password, unquote(password)] if password else []


def install() -> None:
    """Redact every record from now on, knowing the secrets of this process's environment."""
    register_environment(os.environ)
    add_record_hook("redact", _redact_record)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what we have
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
