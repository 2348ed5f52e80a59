"""The hotline (issue 12): the agent's live screen pop, verifying the caller without
revealing them, the voice flag and the actions after identification; the recent contacts
for the site's managers, admin and QA."""

from masking.web.hotline import api, console

__all__ = ["api", "console"]
