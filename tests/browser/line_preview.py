"""A rough HTML preview of a LINE reply (text bubbles, Flex cards, quick-reply buttons), for the README's picture.

This is a preview rendering of the JSON the app sends, not LINE's app: it draws the subset of Flex
that ``api/line_messages.py`` uses (boxes, texts, colours, sizes) with plain CSS.
"""

from __future__ import annotations

from html import escape
from typing import Any

SIZES = {"xxs": 10, "xs": 11, "sm": 13, "md": 15, "lg": 17, "xl": 20}
SPACING = {"none": 0, "xs": 2, "sm": 4, "md": 8, "lg": 12, "xl": 16}
WIDTHS = {"nano": 120, "micro": 160, "kilo": 260, "mega": 300, "giga": 386}


def _node(node: dict[str, Any]) -> str:
    if node["type"] == "text":
        style = [f"font-size:{SIZES.get(node.get('size', 'md'), 15)}px", f"color:{node.get('color', '#111')}"]
        if node.get("weight") == "bold":
            style.append("font-weight:bold")
        return f'<div style="{";".join(style)};white-space:pre-wrap">{escape(node["text"])}</div>'
    if node["type"] == "box":
        direction = "row" if node.get("layout") == "horizontal" else "column"
        style = [f"display:flex;flex-direction:{direction};gap:{SPACING.get(node.get('spacing', 'none'), 0)}px"]
        if "backgroundColor" in node:
            style.append(f"background:{node['backgroundColor']}")
        if "cornerRadius" in node:
            style.append("border-radius:6px")
        if "paddingAll" in node or "paddingStart" in node:
            style.append("padding:2px 8px")
        if node.get("flex") == 0:
            style.append("flex:0 0 auto")
        inner = "".join(_node(child) for child in node.get("contents", []))
        return f'<div style="{";".join(style)}">{inner}</div>'
    return ""


def _bubble(bubble: dict[str, Any]) -> str:
    width = WIDTHS.get(bubble.get("size", "mega"), 300)
    return (
        f'<div style="flex:0 0 {width}px;background:#fff;border-radius:14px;padding:16px;'
        f'box-shadow:0 1px 2px rgba(0,0,0,.15)">{_node(bubble["body"])}</div>'
    )


def render(messages: list[dict[str, Any]], question: str) -> str:
    """An HTML page showing the resident's question and the reply as a chat."""
    parts = [
        '<div style="align-self:flex-end;background:#8de055;border-radius:14px;padding:10px 14px;max-width:70%">'
        f"{escape(question)}</div>"
    ]
    quick: list[dict[str, Any]] = []
    for message in messages:
        if message["type"] == "text":
            parts.append(
                '<div style="background:#fff;border-radius:14px;padding:10px 14px;max-width:80%;'
                f'white-space:pre-wrap;font-size:14px">{escape(message["text"])}</div>'
            )
        elif message["type"] == "flex":
            contents = message["contents"]
            bubbles = contents["contents"] if contents["type"] == "carousel" else [contents]
            cards = "".join(_bubble(b) for b in bubbles)
            parts.append(f'<div style="display:flex;gap:8px;overflow-x:auto">{cards}</div>')
        quick = message.get("quickReply", {}).get("items", quick)
    buttons = "".join(
        '<span style="border:1px solid #06c755;color:#06c755;background:#fff;border-radius:16px;'
        f'padding:6px 12px;white-space:nowrap;font-size:13px">{escape(i["action"]["label"])}</span>'
        for i in quick
    )
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>LINE reply preview</title></head>'
        "<body style=\"margin:0;font-family:'IPAGothic',sans-serif;background:#7494c0\">"
        '<div style="background:#273246;color:#fff;padding:10px 16px;font-size:14px">'
        "富岡甘楽 連携事業案内 — preview rendering of the reply JSON (not LINE's app)</div>"
        f'<div style="display:flex;flex-direction:column;gap:10px;padding:16px">{"".join(parts)}</div>'
        f'<div style="display:flex;gap:8px;flex-wrap:wrap;padding:8px 16px 16px">{buttons}</div>'
        "</body></html>"
    )
