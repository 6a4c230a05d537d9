"""Every log record is masked as it is created: message, arguments, exception text."""

from __future__ import annotations

import io
import logging

from assistant.store import logs


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test.pii.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_messages_arguments_and_exceptions_are_masked() -> None:
    logs.install()
    logs.install()  # idempotent
    logger, stream = capture()
    logger.info("asked: 090-1234-5678 and %s", "taro@example.jp")
    logger.info("%(who)s wrote %(n)d times", {"who": "私は山田太郎です", "n": 3})
    logger.warning("object arg: %s", {"my_number": "1234 5678 9018"})
    try:
        raise ValueError("bad input 〒370-2316 富岡市富岡1460-1")
    except ValueError:
        logger.exception("failed for %s", "0274-62-1234")
    text = stream.getvalue()
    for secret in (
        "090-1234-5678",
        "taro@example.jp",
        "山田太郎",
        "1234 5678 9018",
        "370-2316",
        "1460-1",
        "0274-62-1234",
    ):
        assert secret not in text, secret
    assert "asked: [電話番号] and [メール]" in text
    assert "私は[氏名]です wrote 3 times" in text
    assert "ValueError: bad input [郵便番号] 富岡市[住所]" in text and "Traceback" in text


def test_uvicorn_style_access_records_keep_their_arguments() -> None:
    logs.install()
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/projects/090-1234-5678", "1.1", 404),
        None,
    )
    client, method, path, version, status = record.args  # type: ignore[misc]
    assert path == "/v1/projects/[電話番号]" and status == 404 and client == "127.0.0.1:5000"


def test_url_encoded_personal_data_is_masked_too() -> None:
    logs.install()
    logger, stream = capture()
    logger.info(
        '"GET %s HTTP/1.1"', "/admin/questions?q=taro.yamada%40example.jp&x=%EF%BC%90%EF%BC%99%EF%BC%90-1234-5678"
    )
    logger.info("plain %s", "/v1/projects?page=2&q=%E7%97%85%E5%85%90")  # nothing personal: left as it was
    text = stream.getvalue()
    assert "taro.yamada" not in text and "1234-5678" not in text and "q=[メール]" in text
    assert "q=%E7%97%85%E5%85%90" in text
