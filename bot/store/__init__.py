"""PostgreSQL storage (asyncpg): the connection, the embedded server, migrations, and one
module of queries per thing stored."""

from .database import Database, DatabaseError

__all__ = ["Database", "DatabaseError"]
