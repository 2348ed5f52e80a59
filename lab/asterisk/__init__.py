"""A real Asterisk for the tests and the demo: root filesystem, local instance, configs."""

from lab.asterisk.local import LocalAsterisk, Phone, Ports, Queue, down, status, up
from lab.asterisk.rootfs import RootfsError, docker_available, ensure_rootfs

__all__ = [
    "LocalAsterisk",
    "Phone",
    "Ports",
    "Queue",
    "RootfsError",
    "docker_available",
    "down",
    "ensure_rootfs",
    "status",
    "up",
]
