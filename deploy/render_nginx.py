"""Render deploy/nginx.conf for other replica addresses, another listen address and a private runtime folder.

The shipped file names the compose replicas (replica1:8000, replica2:8000) and the usual system
paths. This rewrites the upstream's ``server`` lines (one per ``--upstream``, keeping their
``max_fails``/``fail_timeout``), the ``listen`` line, and every pid/log/temp path into
``--runtime-dir``, so nginx runs as any user (the tests run it on loopback). Standard library only.

    python deploy/render_nginx.py --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 \\
        --listen 127.0.0.1:8080 --runtime-dir /tmp/nginx > /tmp/nginx/nginx.conf
    nginx -t -c /tmp/nginx/nginx.conf -p /tmp/nginx -e /tmp/nginx/error.log
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf")
_SERVER = re.compile(r"^(\s*)server\s+\S+:\d+(\s+[^;]*)?;\s*$", re.MULTILINE)
_PATHS = {
    "pid": "nginx.pid",
    "error_log": "error.log",
    "access_log": "access.log",
    "client_body_temp_path": "client_temp",
    "proxy_temp_path": "proxy_temp",
    "fastcgi_temp_path": "fastcgi_temp",
    "uwsgi_temp_path": "uwsgi_temp",
    "scgi_temp_path": "scgi_temp",
}


def render(text: str, upstreams: list[str], listen: str, runtime_dir: Path | None) -> str:
    """The config with these upstreams and listen address (and paths under ``runtime_dir``, if given)."""
    servers = list(_SERVER.finditer(text))
    if not servers:
        raise ValueError("no `server host:port ...;` line in the upstream block")
    indent, options = servers[0].group(1), servers[0].group(2) or ""
    lines = "\n".join(f"{indent}server {address}{options};" for address in upstreams)
    text = text[: servers[0].start()] + lines + text[servers[-1].end() :]
    text = re.sub(r"^(\s*)listen\s+[^;]+;", lambda m: f"{m.group(1)}listen {listen};", text, flags=re.MULTILINE)
    if runtime_dir is not None:
        for directive, name in _PATHS.items():
            path = runtime_dir / name
            pattern = rf"^(\s*{directive}\s+)(?!off;)[^\s;]+"
            text = re.sub(pattern, lambda m, p=path: f"{m.group(1)}{p}", text, flags=re.MULTILINE)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", action="append", required=True, help="host:port of a replica (repeat)")
    parser.add_argument("--listen", default="80", help="nginx's listen address (default 80)")
    parser.add_argument("--runtime-dir", type=Path, help="put pid, logs and temp folders here (created)")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    if args.runtime_dir is not None:
        args.runtime_dir = args.runtime_dir.resolve()
        args.runtime_dir.mkdir(parents=True, exist_ok=True)
    sys.stdout.write(render(args.template.read_text(encoding="utf-8"), args.upstream, args.listen, args.runtime_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
