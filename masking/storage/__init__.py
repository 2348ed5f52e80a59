"""Storage: the database engine and sessions (:mod:`.db`), the tables (:mod:`.models`) and
the Alembic migrations shipped beside them."""
