"""Per-document access control: who may read a document, and who is asking.

A document ingested with allowed users or groups stores their *reader tags* (``user:NAME``,
``group:NAME``) in its chunks' ``meta.access`` payload; one ingested without any is public
(``meta.access`` is null, as in collections made before access control). Every search of the
SDK runs for a ``Principal`` (anonymous unless given) and the store keeps only the chunks that
are public or carry one of the principal's tags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.types import DocumentInfo, SearchFilter

ACCESS = "access"
"""The key of a chunk's metadata (payload ``meta.access``) that holds its reader tags."""


def _names(kind: str, values: Iterable[str]) -> tuple[str, ...]:
    """Return ``values`` stripped, deduplicated and sorted; refuse empty or non-string names."""
    names = set()
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"a {kind} name must be a non-empty string, got {value!r}")
        names.add(value.strip())
    return tuple(sorted(names))


@dataclass(frozen=True)
class Principal:
    """The caller a search runs for: a user name and its groups; ``Principal()`` is anonymous.

    An anonymous caller sees public documents only.
    """

    user: str | None = None
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.user is not None:
            object.__setattr__(self, "user", _names("user", [self.user])[0])
        if isinstance(self.groups, str):
            raise ConfigError(f"groups must be a list of names, got the string {self.groups!r}")
        object.__setattr__(self, "groups", _names("group", self.groups))

    @classmethod
    def of(cls, user: str | None = None, groups: Sequence[str] | None = None) -> Principal:
        """Build a principal from optional CLI-style values (empty user: none)."""
        return cls(user=user or None, groups=tuple(groups or ()))

    def readers(self) -> tuple[str, ...]:
        """The reader tags this caller matches: ``user:NAME`` and one ``group:NAME`` per group."""
        mine = (f"user:{self.user}",) if self.user else ()
        return mine + tuple(f"group:{group}" for group in self.groups)

    def describe(self) -> str:
        """One line naming the caller, for logs and the UI."""
        if self.user is None and not self.groups:
            return "anonymous (public documents only)"
        groups = f" in {', '.join(self.groups)}" if self.groups else ""
        return f"{self.user or 'a member'}{groups}"


ANONYMOUS = Principal()
"""The caller without identity: sees public documents only."""


@dataclass(frozen=True)
class Access:
    """Who may read a document: these users and members of these groups; nobody named: public."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for kind, values in (("users", self.users), ("groups", self.groups)):
            if isinstance(values, str):
                raise ConfigError(f"{kind} must be a list of names, got the string {values!r}")
        object.__setattr__(self, "users", _names("user", self.users))
        object.__setattr__(self, "groups", _names("group", self.groups))

    @classmethod
    def of(cls, users: Sequence[str] | None = None, groups: Sequence[str] | None = None) -> Access:
        """Build an access rule from optional CLI-style lists."""
        return cls(users=tuple(users or ()), groups=tuple(groups or ()))

    @property
    def public(self) -> bool:
        """True when the rule names nobody, so everyone may read."""
        return not (self.users or self.groups)

    def tags(self) -> list[str] | None:
        """The reader tags stored with each chunk; None for a public document."""
        if self.public:
            return None
        return [f"user:{u}" for u in self.users] + [f"group:{g}" for g in self.groups]


def allows(tags: object, principal: Principal) -> bool:
    """Return True when stored reader ``tags`` (None or empty: public) let ``principal`` read."""
    if not tags:
        return True
    if not isinstance(tags, list | tuple):
        return False
    return not set(principal.readers()).isdisjoint(str(tag) for tag in tags)


def visible(infos: Iterable[DocumentInfo], principal: Principal) -> list[DocumentInfo]:
    """Keep the documents ``principal`` may read."""
    return [info for info in infos if allows(info.metadata.get(ACCESS), principal)]


def scoped(search_filter: SearchFilter | None, principal: Principal | None) -> SearchFilter:
    """Return ``search_filter`` limited to what ``principal`` (None: anonymous) may read."""
    readers = (principal or ANONYMOUS).readers()
    return replace(search_filter or SearchFilter(), readers=readers)


def load_token_file(path: Path) -> dict[str, Principal]:
    """Read ``{"TOKEN": {"user": "alice", "groups": ["eng"]}, ...}``: each API token's caller."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read token file {path}: {e.strerror or e}") from e
    except ValueError as e:
        raise ConfigError(f"token file {path} is not valid JSON: {e}") from e
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"token file {path} must be a non-empty JSON object of token: caller")
    tokens: dict[str, Principal] = {}
    for token, who in data.items():
        if not token.strip() or not isinstance(who, Mapping):
            raise ConfigError(
                f'token file {path}: each entry must be "TOKEN": {{"user": ..., "groups": [...]}}'
            )
        unknown = set(who) - {"user", "groups"}
        if unknown:
            raise ConfigError(
                f"token file {path}: unknown keys {sorted(unknown)} (valid: user, groups)"
            )
        groups = who.get("groups") or []
        if not isinstance(groups, list):
            raise ConfigError(f"token file {path}: groups must be a list of names")
        tokens[token] = Principal(user=who.get("user"), groups=tuple(groups))
    return tokens
