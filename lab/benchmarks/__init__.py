"""Benchmarks that print a table: FastAGI decisions (agi_load), reveals (reveal_rate)."""
