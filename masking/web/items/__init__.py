"""Items: search a shipment, reveal its temporary number, call the customer."""

from masking.web.items import api, console

__all__ = ["api", "console"]
