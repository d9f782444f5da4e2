"""Review UI: autosaved edit drafts and blinded double-review votes (inter-rater agreement).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``review_drafts`` and ``agreement_votes``."""
    op.create_table(
        "review_drafts",
        sa.Column("result_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"], ["results.id"], name=op.f("fk_review_drafts_result_id_results"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_drafts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("result_id", "user_id", name=op.f("pk_review_drafts")),
    )
    op.create_table(
        "agreement_votes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("result_id", sa.String(length=32), nullable=False),
        sa.Column("reviewer_id", sa.String(length=32), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('accept', 'reject', 'edit')", name=op.f("ck_agreement_votes_decision")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_agreement_votes_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["result_id"], ["results.id"], name=op.f("fk_agreement_votes_result_id_results"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_agreement_votes_reviewer_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_votes")),
        sa.UniqueConstraint("result_id", "reviewer_id", name=op.f("uq_agreement_votes_result_reviewer")),
    )
    op.create_index(op.f("ix_agreement_votes_project_id"), "agreement_votes", ["project_id"], unique=False)


def downgrade() -> None:
    """Drop ``agreement_votes`` and ``review_drafts``."""
    op.drop_index(op.f("ix_agreement_votes_project_id"), table_name="agreement_votes")
    op.drop_table("agreement_votes")
    op.drop_table("review_drafts")
