"""Seeds a running server for the API fuzzer: a second project with its own member, an agent
with a limited role in the first, tags and flows in both. Prints a JSON description (tokens,
ids, project B's marker) on stdout for hooks.py."""
import json
import sys
import urllib.request

BASE = sys.argv[1]
OWNER_EMAIL, OWNER_PASSWORD = sys.argv[2], sys.argv[3]
MARKER = "zz-project-b-marker-7f3a"


def call(method, path, body=None, token=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as resp:
        if resp.status not in expect:
            raise SystemExit(f"{method} {path}: {resp.status}")
        raw = resp.read()
        return json.loads(raw) if raw else None


def token_for(email, password):
    req = urllib.request.Request(
        BASE + "/api/auth/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        method="POST",
    )
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        cookie = resp.headers["Set-Cookie"].split(";")[0]
    req = urllib.request.Request(
        BASE + "/api/auth/tokens", data=b'{"name":"fuzz"}', method="POST"
    )
    req.add_header("Content-Type", "application/json")
    req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())["token"]


owner = token_for(OWNER_EMAIL, OWNER_PASSWORD)
me = call("GET", "/api/me", token=owner)
pid_a = me["projects"][0]["project"]["id"]
project_b = call("POST", "/api/projects", {"name": MARKER + " project"}, token=owner)
pid_b = project_b["id"]

# Project B has its own member, who is not in A; the owner is in both (the creator of B), so the
# isolation check applies to the agent, who is only in A.
call("POST", f"/api/projects/{pid_b}/members",
     {"email": "b-member@example.com", "display_name": MARKER + " member",
      "password": "bmemberpass123", "role": "agent"}, token=owner)
call("POST", f"/api/projects/{pid_a}/members",
     {"email": "agent@example.com", "display_name": "Agent A",
      "password": "agentpass123", "role": "agent"}, token=owner)
agent = token_for("agent@example.com", "agentpass123")

ids_b = {"pid": pid_b}
tag_a = call("POST", f"/api/projects/{pid_a}/session-tags", {"name": "vip"}, token=owner)
tag_b = call("POST", f"/api/projects/{pid_b}/session-tags", {"name": MARKER[:30]}, token=owner)
ids_b["tid"] = tag_b["id"]
call("POST", f"/api/projects/{pid_a}/flows", {"name": "welcome"}, token=owner)
flow_b = call("POST", f"/api/projects/{pid_b}/flows", {"name": MARKER + " flow"}, token=owner)
ids_b["fid"] = flow_b["id"]
roles_b = call("GET", f"/api/projects/{pid_b}/roles", token=owner)
ids_b["rid"] = roles_b[-1]["id"]
members_b = call("GET", f"/api/projects/{pid_b}/members", token=owner)
ids_b["uid"] = [m for m in members_b if m["email"] == "b-member@example.com"][0]["user_id"]
channels_b = call("GET", f"/api/projects/{pid_b}/channels", token=owner)
ids_b["cid"] = channels_b[0]["id"] if channels_b else None

json.dump({"owner": owner, "agent": agent, "pid_a": pid_a, "marker": MARKER,
           "ids_b": {k: v for k, v in ids_b.items() if v is not None}}, sys.stdout)
