"""Clients: created on first contact from their WhatsApp number; profile reads and validated updates."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from business_api.errors import InvalidRequest
from business_api.schemas import ClientView

_COLUMNS = "id, phone, name, email, created_at"
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NAME_MIN, NAME_MAX, EMAIL_MAX = 2, 80, 254


def client_view(row: Any) -> ClientView:
    return ClientView(phone=row["phone"], name=row["name"], email=row["email"], created_at=row["created_at"])


async def ensure_client(conn: asyncpg.Connection, phone: str) -> Any:
    """The client with this (normalised) number, created when unknown. Returns the row."""
    select = f"SELECT {_COLUMNS} FROM clients WHERE phone = $1"
    row = await conn.fetchrow(select, phone)
    if row is None:
        row = await conn.fetchrow(
            f"INSERT INTO clients (phone) VALUES ($1) ON CONFLICT (phone) DO NOTHING RETURNING {_COLUMNS}", phone
        )
    if row is None:  # another request created it between our two statements
        row = await conn.fetchrow(select, phone)
    return row


def validate_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not NAME_MIN <= len(name) <= NAME_MAX or _CONTROL.search(name):
        raise InvalidRequest("invalid_name", f"the name must have {NAME_MIN} to {NAME_MAX} characters")
    if not any(char.isalpha() for char in name):
        raise InvalidRequest("invalid_name", "the name must contain letters")
    return name


def validate_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise InvalidRequest("invalid_email", f"{email!r} is not a valid email address")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


async def update_profile(conn: asyncpg.Connection, client_id: int, *, name: str | None, email: str | None) -> Any:
    """Set the given fields (already validated); return the updated row."""
    return await conn.fetchrow(
        f"""
        UPDATE clients
           SET name = COALESCE($2, name), email = COALESCE($3, email), updated_at = now()
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        client_id,
        name,
        email,
    )
