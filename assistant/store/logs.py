"""Personal data masked in every log record the process emits.

:func:`install` wraps the logging record factory, so every record, from our code, uvicorn or
any library, is masked as it is created, before any handler or formatter sees it: the
message, its string arguments, and the text of an attached exception, URL-encoded text included
(a query string in uvicorn's access log). Arguments stay
arguments (uvicorn's access log formatter reads them one by one), so only their text changes.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any
from urllib.parse import unquote

from assistant.store.pii import mask

_installed = False
_PERCENT_ESCAPE = re.compile("%[0-9A-Fa-f]{2}")


def mask_text(text: str) -> str:
    """:func:`~assistant.store.pii.mask`, also seeing through URL encoding (``taro%40example.jp`` in an access log)."""
    masked = mask(text)
    if _PERCENT_ESCAPE.search(text):
        decoded = unquote(text)
        masked_decoded = mask(decoded)
        if masked_decoded != decoded:
            return masked_decoded
    return masked


class PiiFilter(logging.Filter):
    """Masks personal data in a record, in place; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        masked = getattr(record, "pii_masked", False)
        if masked:
            return True
        record.pii_masked = True
        record.msg = mask_text(record.msg if isinstance(record.msg, str) else str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _mask_arg(value) for key, value in record.args.items()}
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _mask_arg(value: Any) -> Any:
    """Numbers stay numbers (for %d); text is masked; anything else becomes its masked text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(value if isinstance(value, str) else str(value))


def install() -> None:
    """Mask every log record from now on, in this process (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()
    pii_filter = PiiFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        pii_filter.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
