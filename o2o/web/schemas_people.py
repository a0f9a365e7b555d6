"""Answer and body models of the people and named-key endpoints (``/api/v1/users``,
``/api/v1/keys``), documented with the rest in :mod:`o2o.web.schemas`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")  # answers may carry more members than described


Role = Literal["owner", "editor", "viewer"]


class Person(_Model):
    id: int
    email: str
    role: Role
    created_at: str
    last_sign_in_at: str | None
    disabled: bool
    pending: bool = Field(description="Invited, no password set yet")


class People(_Model):
    users: list[Person]


class InvitedPerson(Person):
    setup_path: str = Field(description="/account/setup/TOKEN: one-time, valid 72 h; send it to the person")


class InviteBody(_Model):
    email: str
    role: Role


class PersonChange(_Model):
    role: Role | None = None
    disabled: bool | None = None


class ApiKeyInfo(_Model):
    id: int
    name: str
    role: Literal["editor", "viewer"]
    created_at: str
    created_by: str | None
    last_used_at: str | None
    revoked_at: str | None


class ApiKeys(_Model):
    keys: list[ApiKeyInfo]


class NewApiKey(ApiKeyInfo):
    key: str = Field(description="The key itself, shown this once (only its hash is stored)")


class KeyBody(_Model):
    name: str
    role: Literal["editor", "viewer"] = "editor"
