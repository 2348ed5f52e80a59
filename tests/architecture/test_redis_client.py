"""One place makes Redis clients from the settings (masking.redis_client): every caller
(service, runtime, CLI, demo, benchmarks) gets the same Sentinel support, timeouts and
retries. The lab's Sentinel cluster talks to its own processes one by one, by port."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACTORY = Path("masking/redis_client.py")
OWN_PROCESSES = Path("lab/redis_sentinel.py")


def client_constructions(path: Path) -> list[str]:
    """Calls that make a Redis or Sentinel client (``redis.Redis(...)``,
    ``Redis.from_url(...)``, ``Sentinel(...)``, ``StrictRedis(...)``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            last = name.rsplit(".", 1)[-1]
            if last in ("Sentinel", "StrictRedis") or (
                "redis" in name.lower() and last in ("Redis", "from_url", "from_pool")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}(...)")
    return found


def test_only_the_factory_makes_redis_clients() -> None:
    assert len(client_constructions(ROOT / FACTORY)) == 2  # a URL's client, the sentinels'
    found = [
        where
        for top in ("masking", "agi", "lab")
        for path in sorted((ROOT / top).rglob("*.py"))
        if path.relative_to(ROOT) not in (FACTORY, OWN_PROCESSES)
        for where in client_constructions(path)
    ]
    assert found == [], "use masking.redis_client.connect(settings)"
