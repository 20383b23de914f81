"""turn phases; the job description and CV summary a session was tailored to

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("phase", sa.String(), nullable=True))
    with op.batch_alter_table("grades") as batch:
        batch.add_column(sa.Column("phase", sa.String(), nullable=True))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("job_description", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("cv_summary", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("cv_summary")
        batch.drop_column("job_description")
    with op.batch_alter_table("grades") as batch:
        batch.drop_column("phase")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("phase")
