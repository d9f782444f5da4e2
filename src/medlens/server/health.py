"""Route: health (the only route without authentication)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import text

from medlens.server.deps import DbSession, ServerContext, get_ctx

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: DbSession, ctx: Annotated[ServerContext, Depends(get_ctx)]) -> dict[str, str]:
    """``{"status": "ok"}`` when the database answers (503 otherwise)."""
    try:
        session.execute(text("SELECT 1"))
    except Exception:
        raise HTTPException(503, "database unavailable") from None
    return {"status": "ok"}
