"""drills: a session that retries one question or stage of another points at it

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key: adding one makes SQLite rebuild the sessions table under the turns that
    # reference it; the application only ever links a drill to a session it has just read.
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("drill_of", sa.String(), nullable=True))
        batch.create_index(batch.f("ix_sessions_drill_of"), ["drill_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index(batch.f("ix_sessions_drill_of"))
        batch.drop_column("drill_of")
