"""Numbers and bindings: phone numbers (:mod:`.phones`), the pool's numbers in the
database (:mod:`.virtual`), the live pool in Redis (:mod:`.pool`) and the live bindings
kept true to the database (:mod:`.bindings`)."""
