"""grade leases: a claim holds until `lease_until`, renewed by its worker while it grades

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No default: a running grade without a lease (claimed before this migration) counts as expired.
    with op.batch_alter_table("grades") as batch:
        batch.add_column(sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grades") as batch:
        batch.drop_column("lease_until")
