#!/usr/bin/env python3
"""Serves recorded Mastodon API pages on 127.0.0.1 for the quickstart's social pipeline.

A stand-in for a Mastodon instance, answering the three requests the social.mastodon connector
makes, from the recorded entities next to this file:
  GET /api/v1/accounts/verify_credentials   -> account.json
  GET /api/v1/notifications                 -> notifications.json (types[], min_id, max_id,
                                               since_id, limit; newest first; Link header)
  GET /api/v1/accounts/<id>/statuses        -> statuses.json (same paging)
Requests must carry "Authorization: Bearer <the token in ./token>", as on a real instance.

usage: serve.py [--port N] [--port-file FILE]
  --port 0 (the default) takes a free port; --port-file receives the port once it listens.
Stops on SIGTERM or SIGINT.
"""
import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


ACCOUNT = load("account.json")
NOTIFICATIONS = load("notifications.json")
STATUSES = load("statuses.json")
with open(os.path.join(HERE, "token"), encoding="utf-8") as f:
    TOKEN = f.read().strip()


def page(items, query, type_key):
    """The page Mastodon would answer for these query parameters (newest first)."""
    params = parse_qsl(query, keep_blank_values=True)
    get = dict(params)
    types = [v for k, v in params if k == "types[]"]
    limit = min(int(get.get("limit", "20") or 20), 80)
    sel = sorted(items, key=lambda e: int(e["id"]), reverse=True)
    if types and type_key:
        sel = [e for e in sel if e.get(type_key) in types]
    if get.get("max_id"):
        sel = [e for e in sel if int(e["id"]) < int(get["max_id"])]
    if get.get("since_id"):
        sel = [e for e in sel if int(e["id"]) > int(get["since_id"])]
    if get.get("min_id"):
        sel = [e for e in sel if int(e["id"]) > int(get["min_id"])]
        sel = sel[-limit:]  # immediately newer than min_id
    else:
        sel = sel[:limit]
    kept = "&".join(quote(k, safe="") + "=" + quote(v, safe="")
                    for k, v in params if k not in ("min_id", "max_id", "since_id"))
    return sel, kept


class Handler(BaseHTTPRequestHandler):
    server_version = "quickstart-mastodon/1.0"

    def log_message(self, fmt, *args):  # quiet: the quickstart prints its own summary
        pass

    def answer(self, status, body, headers=None):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.headers.get("Authorization", "") != "Bearer " + TOKEN:
            return self.answer(401, {"error": "The access token is invalid"})
        url = urlsplit(self.path)
        if url.path == "/api/v1/accounts/verify_credentials":
            return self.answer(200, ACCOUNT)
        if url.path == "/api/v1/notifications":
            items, type_key = NOTIFICATIONS, "type"
        elif url.path == "/api/v1/accounts/%s/statuses" % ACCOUNT["id"]:
            items, type_key = STATUSES, None
        else:
            return self.answer(404, {"error": "Record not found"})
        sel, kept = page(items, url.query, type_key)
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299"}
        if sel:
            base = "http://%s:%d%s?%s%s" % (self.server.server_address[0],
                                              self.server.server_address[1], url.path, kept,
                                              "&" if kept else "")
            headers["Link"] = '<%smax_id=%s>; rel="next", <%smin_id=%s>; rel="prev"' % (
                base, sel[-1]["id"], base, sel[0]["id"])
        return self.answer(200, sel, headers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, args.port_file)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
