"""Who may do what. Two roles: raters judge pairs; study leads (admins) also import,
export, back up, change settings and activate or roll back model versions.

Admins are named in configuration: ``$SEVERITY_ADMINS`` (comma-separated names or, with
OIDC sign-in, e-mail addresses) and/or ``admins = [...]`` under ``[roles]`` in
``.streamlit/secrets.toml``. When none are configured, the first rater to sign in to a
database is its study lead, which keeps a single-user installation simple (the app then
listens on 127.0.0.1 only, see the README).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from core.store import Store

ADMINS_ENV = "SEVERITY_ADMINS"


@dataclass(frozen=True)
class User:
    rater_id: int
    name: str  # what is shown and stored with each judgment
    identity: str  # what admin lists match: the e-mail with OIDC, else the name
    is_admin: bool


def configured_admins(from_secrets: Iterable[str] = ()) -> frozenset[str]:
    names = [*os.environ.get(ADMINS_ENV, "").split(","), *from_secrets]
    return frozenset(n.strip().casefold() for n in names if n and n.strip())


def user_for(store: Store, name: str, identity: str | None, admins: frozenset[str]) -> User:
    """Sign ``name`` in (creating the rater if new) and decide the role: from the
    configured admins when there are any, else from the database (first rater)."""
    rater_id = store.raters.ensure(name)
    identity = identity or " ".join(name.split())
    if admins:
        is_admin = identity.casefold() in admins or name.casefold() in admins
    else:
        is_admin = store.raters.role(rater_id) == "admin"
    return User(rater_id, " ".join(name.split()), identity, is_admin)
