"""Principals, app roles and the permissions they grant; the one authorisation check.

A caller is a :class:`Principal`: who (``subject``, ``name``), which app roles it holds
and which DQ tenants it may act for. Routes ask :func:`authorize` for a permission on
one tenant; the answer is nothing (allowed) or :class:`Forbidden`. How a principal is
obtained (an Entra ID bearer token, or auth switched off in the ``local`` environment)
is :mod:`dq_core.security.tokens`' business; every route goes through the same check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from dq_core.errors import TerminalError


class Role(StrEnum):
    """Entra ID app roles (the ``roles`` claim of an access token)."""

    READER = "DQ.Reader"
    AUTHOR = "DQ.Author"
    APPROVER = "DQ.Approver"
    OPERATOR = "DQ.Operator"
    ADMIN = "DQ.Admin"


class Permission(StrEnum):
    READ = "read"  # configuration, runs, results, lineage, evidence packs
    AUTHOR = "author"  # create or update drafts
    APPROVE = "approve"  # approve, publish, deprecate a version
    PROMOTE = "promote"  # copy a published version to the next environment
    OPERATE = "operate"  # start runs, upload files, notify uploads
    AUDIT = "audit"  # read the audit log


ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.READER: frozenset({Permission.READ}),
    Role.AUTHOR: frozenset({Permission.READ, Permission.AUTHOR}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE, Permission.PROMOTE}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.OPERATE}),
    Role.ADMIN: frozenset(Permission),
}


class Unauthenticated(TerminalError):
    """No credentials, or credentials that do not prove who the caller is (HTTP 401)."""

    code = "unauthenticated"


class Forbidden(TerminalError):
    """The caller is known but may not do this, or not for this tenant (HTTP 403)."""

    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    subject: str  # the token's ``oid`` (or ``sub``): stable, what audit events name as the actor
    name: str  # for people: preferred_username / upn; for apps: the app id
    roles: frozenset[Role]
    tenants: frozenset[str] = field(default_factory=frozenset)
    all_tenants: bool = False  # only when auth is off (environment ``local``)
    authenticated: bool = True  # False: auth is off and this is the local anonymous caller

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def may_act_for(self, tenant: str) -> bool:
        return self.all_tenants or tenant in self.tenants

    def can(self, permission: Permission, tenant: str) -> bool:
        return self.may_act_for(tenant) and permission in self.permissions


LOCAL_ANONYMOUS: Final = Principal(
    subject="local", name="local (auth off)", roles=frozenset(Role), all_tenants=True, authenticated=False
)
"""The caller when auth is off, which only the ``local`` environment allows."""


def authorize(principal: Principal, tenant: str, permission: Permission) -> None:
    """Nothing when ``principal`` holds ``permission`` for ``tenant``; Forbidden otherwise.
    The detail never says whether the tenant exists."""
    if not principal.may_act_for(tenant):
        raise Forbidden(f"{principal.name} may not act for tenant {tenant!r}")
    if permission not in principal.permissions:
        needed = sorted(role.value for role, perms in ROLE_PERMISSIONS.items() if permission in perms)
        raise Forbidden(f"{permission.value} needs one of the app roles {', '.join(needed)}")


class Authenticator(Protocol):
    """Turns a request's ``Authorization`` header into a principal.

    Raises :class:`Unauthenticated` for a missing, malformed, unsigned, expired or
    otherwise invalid token. Implementations: the Entra ID token validator, and the
    auth-off authenticator (environment ``local`` only) that answers LOCAL_ANONYMOUS.
    """

    @property
    def enabled(self) -> bool:
        """False when auth is off (``/health`` says so)."""
        ...

    def authenticate(self, authorization: str | None) -> Principal: ...


__all__ = [
    "LOCAL_ANONYMOUS",
    "ROLE_PERMISSIONS",
    "Authenticator",
    "Forbidden",
    "Permission",
    "Principal",
    "Role",
    "Unauthenticated",
    "authorize",
]
