"""What the API routers share: the strict request body and the common query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


SiteFilter = Annotated[str | None, Query(max_length=64)]
StaffFilter = Annotated[str | None, Query(max_length=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
CallId = Annotated[str, Path(max_length=64)]
