#!/usr/bin/env python3
"""A local stand-in for Meta's Graph API, for the tests: a real HTTP server process that speaks
the documented wire format of the calls Switchboard makes (Send API, Conversations API with
cursor paging, a person's profile, the Page itself), with Graph's error bodies, the
X-Business-Use-Case-Usage header and slow answers on request. Like Meta, it can POST a signed
echo webhook back to the server for every message it accepts. Python standard library only.

Graph endpoints (under /<version>/, e.g. /v25.0/):
  POST {page_id|me}/messages      Send API (text, quick_replies checked as documented: at most
                                  13; text ones need a title and a payload of <= 1000 chars)
  GET  {page_id}/conversations    Conversations API (limit, after; 20 latest messages each)
  GET  {page_id}                  the Page (id, name)
  GET  {psid}                     a person's profile (first_name, last_name, profile_pic)
A token is taken from `access_token` or `Authorization: Bearer`; an unknown one gets error 190.

Control endpoints (for the tests):
  POST /_control/pages           {page_id, token, name}
  POST /_control/script          {endpoint: send|conversations|profile|page, responses: [..]}
                                 each {status, body, headers, delay_ms}; without `status` the
                                 entry only delays (`delay_ms`) and the call is answered as usual
  GET  /_control/requests?endpoint=send   the calls received, oldest first
  POST /_control/conversations   {page_id, count, messages_per (25)}
  POST /_control/profiles        {psid, first_name, last_name}
  POST /_control/echo            {page_id, webhook_url, app_secret, app_id, mode}
                                 mode: after_response | before_response | off
  POST /_control/reset
Prints `LISTENING <port>` on stdout once it accepts connections.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RETIRED_TAGS = {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"}
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
# Send API reference, quick_reply.content_type (`location` is retired).
QUICK_REPLY_TYPES = {"text", "user_phone_number", "user_email"}
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_QUICK_REPLY_PAYLOAD = 1000
BASE_TIME = 1795000000  # 2026-11-18, seconds: seeded conversations are older than "now"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.pages = {}  # page_id -> {"token", "name"}
        self.scripts = {}  # endpoint -> [response]
        self.requests = []  # [{"endpoint", ...}]
        self.conversations = {}  # page_id -> [conversation], newest first
        self.profiles = {}  # psid -> {"first_name", "last_name"}
        self.echo = {}  # page_id -> {"webhook_url", "app_secret", "app_id", "mode"}
        self.mid_counter = 0

    def next_script(self, endpoint):
        with self.lock:
            queue = self.scripts.get(endpoint) or []
            return queue.pop(0) if queue else None


STATE = State()


def graph_error(code, message, subcode=None, status=400, kind="OAuthException"):
    err = {"message": message, "type": kind, "code": code, "fbtrace_id": "Afake%d" % code}
    if subcode is not None:
        err["error_subcode"] = subcode
    return status, {"error": err}


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_echo(cfg, page_id, psid, mid, message):
    event = {
        "sender": {"id": page_id},
        "recipient": {"id": psid},
        "timestamp": int(time.time() * 1000),
        "message": {"is_echo": True, "app_id": int(cfg["app_id"]), "mid": mid},
    }
    if "text" in message:
        event["message"]["text"] = message["text"]
    if "metadata" in message:
        event["message"]["metadata"] = message["metadata"]
    # Meta's echo reference documents text, attachments and metadata; echoes of messages with
    # quick replies are reported to carry them too. Included, so our parser is shown to
    # tolerate them; nothing of ours relies on them.
    if "quick_replies" in message:
        event["message"]["quick_replies"] = message["quick_replies"]
    body = json.dumps(
        {"object": "page", "entry": [{"id": page_id, "time": event["timestamp"], "messaging": [event]}]}
    ).encode()
    req = urllib.request.Request(
        cfg["webhook_url"],
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(cfg["app_secret"], body)},
        method="POST",
    )
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except Exception as e:  # the server may be down (a test killed it): Meta would retry later
        print("echo to %s failed: %s" % (cfg["webhook_url"], e), file=sys.stderr)


def quick_replies_error(quick):
    """Graph's refusal of a message's `quick_replies`, as documented; None when they are fine."""
    if not isinstance(quick, list) or not quick:
        return graph_error(100, "(#100) param message[quick_replies] must be a non-empty array")
    if len(quick) > MAX_QUICK_REPLIES:
        return graph_error(100, "(#100) param message[quick_replies] must have at most %d elements" % MAX_QUICK_REPLIES)
    for q in quick:
        kind = q.get("content_type") if isinstance(q, dict) else None
        if kind not in QUICK_REPLY_TYPES:
            return graph_error(100, "(#100) param message[quick_replies][content_type] must be one of %s" % sorted(QUICK_REPLY_TYPES))
        if kind == "text":
            title, payload = q.get("title"), q.get("payload")
            if not isinstance(title, str) or not title.strip():
                return graph_error(100, "(#100) param message[quick_replies][title] must be a non-empty string")
            if payload is None or payload == "" or len(str(payload)) > MAX_QUICK_REPLY_PAYLOAD:
                return graph_error(100, "(#100) param message[quick_replies][payload] must be 1 to %d characters" % MAX_QUICK_REPLY_PAYLOAD)
    return None


def seed_conversations(page_id, count, per):
    page_name = STATE.pages.get(page_id, {}).get("name", "Page")
    convs = []
    for i in range(count):
        psid = "psid-%d" % i
        # Newest first: conversation 0 was updated last.
        updated = BASE_TIME - i * 60
        messages = []
        for k in range(per):  # k = 0 is the newest message
            t = updated - k * 5
            from_person = k % 2 == 0
            sender = {"id": psid, "name": "Person %d" % i} if from_person else {"id": page_id, "name": page_name}
            to = {"id": page_id, "name": page_name} if from_person else {"id": psid, "name": "Person %d" % i}
            messages.append(
                {
                    "id": "m-%d-%d" % (i, per - 1 - k),
                    "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(t)),
                    "from": sender,
                    "to": {"data": [to]},
                    "message": "message %d of person %d" % (per - 1 - k, i),
                }
            )
        convs.append(
            {
                "id": "t_%s_%d" % (page_id, i),
                "updated_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(updated)),
                "participants": {
                    "data": [
                        {"name": "Person %d" % i, "email": "%s@facebook.com" % psid, "id": psid},
                        {"name": page_name, "id": page_id},
                    ]
                },
                "messages_all": messages,
            }
        )
    STATE.conversations[page_id] = convs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # --- plumbing -------------------------------------------------------------------------
    def reply(self, status, body, headers=None, after=None):
        data = json.dumps(body).encode() if not isinstance(body, (bytes, str)) else (
            body.encode() if isinstance(body, str) else body
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v if isinstance(v, str) else json.dumps(v))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if after:
            threading.Thread(target=after, daemon=True).start()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def token(self, query):
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return query.get("access_token")

    def record(self, endpoint, method, path, query, raw):
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with STATE.lock:
            STATE.requests.append(
                {
                    "endpoint": endpoint,
                    "method": method,
                    "path": path,
                    "query": query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "t": time.time(),
                }
            )

    def scripted(self, endpoint):
        """A scripted answer for this call, if one is queued: (status, body, headers) or None."""
        entry = STATE.next_script(endpoint)
        if entry is None:
            return None
        if entry.get("delay_ms"):
            time.sleep(entry["delay_ms"] / 1000.0)
        if "status" not in entry:
            return None
        return entry["status"], entry.get("body", {}), entry.get("headers") or {}

    # --- routing --------------------------------------------------------------------------
    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        raw = self.read_body() if method == "POST" else b""
        if parts and parts[0] == "_control":
            return self.control(method, parts[1:], query, raw)
        if len(parts) < 2 or not parts[0].startswith("v"):
            return self.reply(*graph_error(803, "Unknown path components: %s" % url.path, status=404))
        rest = parts[1:]
        if method == "POST" and len(rest) == 2 and rest[1] == "messages":
            endpoint = "send"
        elif method == "GET" and len(rest) == 2 and rest[1] == "conversations":
            endpoint = "conversations"
        elif method == "GET" and len(rest) == 1 and rest[0] in STATE.pages:
            endpoint = "page"
        elif method == "GET" and len(rest) == 1:
            endpoint = "profile"
        else:
            return self.reply(*graph_error(100, "Unsupported request", status=400))
        self.record(endpoint, method, url.path, query, raw)
        script = self.scripted(endpoint)
        if script is not None:
            return self.reply(*script)
        token = self.token(query)
        page_id = rest[0]
        if endpoint == "profile":
            known = any(p["token"] == token for p in STATE.pages.values())
        else:
            if page_id == "me":
                page_id = next((pid for pid, p in STATE.pages.items() if p["token"] == token), None)
            known = page_id in STATE.pages and STATE.pages[page_id]["token"] == token
        if not token or not known:
            return self.reply(*graph_error(190, "Invalid OAuth access token - Cannot parse access token", 463))
        getattr(self, "graph_" + endpoint)(page_id if endpoint != "profile" else rest[0], query, raw)

    # --- Graph ----------------------------------------------------------------------------
    def graph_send(self, page_id, query, raw):
        try:
            req = json.loads(raw)
        except ValueError:
            return self.reply(*graph_error(100, "(#100) Invalid JSON", kind="GraphMethodException"))
        psid = (req.get("recipient") or {}).get("id")
        message = req.get("message") or {}
        mtype = req.get("messaging_type")
        if not psid:
            return self.reply(*graph_error(100, "(#100) The parameter recipient is required"))
        if mtype not in MESSAGING_TYPES:
            return self.reply(*graph_error(100, "(#100) Param messaging_type must be one of %s" % sorted(MESSAGING_TYPES)))
        if mtype == "MESSAGE_TAG":
            tag = req.get("tag")
            if tag in RETIRED_TAGS:
                return self.reply(*graph_error(100, "(#100) Invalid parameter", 1893061))
            if not tag:
                return self.reply(*graph_error(100, "(#100) The parameter tag is required"))
        if not message.get("text") and not message.get("attachment"):
            return self.reply(*graph_error(100, "(#100) Message cannot be empty"))
        if "quick_replies" in message:
            refused = quick_replies_error(message["quick_replies"])
            if refused is not None:
                return self.reply(*refused)
            # Meta shows at most 20 characters of a title: it truncates, it does not refuse.
            message = dict(message, quick_replies=[
                dict(q, title=q["title"][:MAX_QUICK_REPLY_TITLE]) if q["content_type"] == "text" else q
                for q in message["quick_replies"]
            ])
        with STATE.lock:
            STATE.mid_counter += 1
            mid = "m_fake_%d" % STATE.mid_counter
        echo = STATE.echo.get(page_id)
        mode = echo["mode"] if echo else "off"
        if mode == "before_response":
            post_echo(echo, page_id, psid, mid, message)
        after = (lambda: (time.sleep(0.05), post_echo(echo, page_id, psid, mid, message))) if mode == "after_response" else None
        self.reply(200, {"recipient_id": psid, "message_id": mid}, after=after)

    def graph_conversations(self, page_id, query, raw):
        convs = STATE.conversations.get(page_id, [])
        limit = max(1, min(int(query.get("limit", "25")), 100))
        start = 0
        if "after" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["after"].encode()).decode())
            except Exception:
                return self.reply(*graph_error(100, "(#100) Invalid cursor"))
        chunk = convs[start : start + limit]
        data = []
        for c in chunk:
            data.append(
                {
                    "id": c["id"],
                    "updated_time": c["updated_time"],
                    "participants": c["participants"],
                    "messages": {"data": c["messages_all"][:20], "paging": {"cursors": {}}},
                }
            )
        body = {"data": data}
        if chunk:
            before = base64.urlsafe_b64encode(str(start).encode()).decode()
            after = base64.urlsafe_b64encode(str(start + len(chunk)).encode()).decode()
            body["paging"] = {"cursors": {"before": before, "after": after}}
            if start + len(chunk) < len(convs):
                host = self.headers.get("Host", "127.0.0.1")
                body["paging"]["next"] = "http://%s%s?%s" % (
                    host,
                    urllib.parse.urlsplit(self.path).path,
                    urllib.parse.urlencode({"limit": limit, "after": after, "platform": "messenger"}),
                )
        self.reply(200, body)

    def graph_page(self, page_id, query, raw):
        self.reply(200, {"id": page_id, "name": STATE.pages[page_id]["name"]})

    def graph_profile(self, psid, query, raw):
        p = STATE.profiles.get(psid, {"first_name": "Person", "last_name": psid})
        self.reply(200, {"first_name": p["first_name"], "last_name": p["last_name"],
                         "profile_pic": "https://platform-lookaside.fbsbx.com/%s.jpg" % psid, "id": psid})

    # --- control --------------------------------------------------------------------------
    def control(self, method, parts, query, raw):
        body = json.loads(raw) if raw else {}
        what = parts[0] if parts else ""
        with STATE.lock:
            if method == "POST" and what == "pages":
                STATE.pages[str(body["page_id"])] = {"token": body["token"], "name": body.get("name", "Page")}
            elif method == "POST" and what == "script":
                STATE.scripts.setdefault(body["endpoint"], []).extend(body["responses"])
            elif method == "GET" and what == "requests":
                ep = query.get("endpoint")
                return self.reply(200, [r for r in STATE.requests if ep is None or r["endpoint"] == ep])
            elif method == "POST" and what == "profiles":
                STATE.profiles[body["psid"]] = {"first_name": body.get("first_name", ""), "last_name": body.get("last_name", "")}
            elif method == "POST" and what == "echo":
                STATE.echo[str(body["page_id"])] = body
            elif method == "POST" and what == "reset":
                STATE.reset()
            elif method == "POST" and what == "conversations":
                pass
            else:
                return self.reply(404, {"error": "unknown control %s %s" % (method, what)})
        if what == "conversations":
            seed_conversations(str(body["page_id"]), int(body["count"]), int(body.get("messages_per", 25)))
        self.reply(200, {"ok": True})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
