"""Storage: the database engine and sessions (:mod:`.db`), the tables (:mod:`.models`) and
the Alembic migrations shipped beside them; :mod:`.hooks` keeps derived rows current."""

from masking.storage import hooks as hooks  # the ORM listeners, wherever the models are
