"""A small Hugging Face Hub-compatible HTTP server on 127.0.0.1 for offline round-trip tests.

It implements only what ``huggingface_hub`` calls to create a repo, validate a card's YAML,
upload files in "regular" mode (inline in the commit), read repo info and resolve files.
Private repos answer 401 to requests without the right token, like the Hub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "hf_test_token"


class FakeHub:
    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(hub):  # noqa: N805 - closes over the FakeHub
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=b"", headers=None, content_type="application/json"):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _authorised(self, repo):
                return not repo["private"] or self.headers.get("authorization") == f"Bearer {TOKEN}"

            def _repo_or_error(self, repo_id):
                repo = hub.repos.get(repo_id)
                if repo is None or not self._authorised(repo):
                    status = 404 if repo is None else 401
                    self._send(status, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                    return None
                return repo

            def _body(self):
                length = int(self.headers.get("Content-Length", 0))
                return self.rfile.read(length) if length else b""

            def do_POST(self):  # noqa: N802
                hub.requests.append(("POST", self.path))
                path = self.path.split("?")[0]
                body = self._body()
                if path == "/api/repos/create":
                    data = json.loads(body)
                    repo_id = f"{data['organization']}/{data['name']}" if data.get("organization") else data["name"]
                    if repo_id in hub.repos:
                        return self._send(409, {"error": "You already created this model repo", "url": f"{hub.url}/{repo_id}"})
                    private = bool(data.get("private")) or data.get("visibility") == "private"
                    hub.repos[repo_id] = {"files": {}, "sha": "0" * 40, "private": private}
                    return self._send(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})
                if path == "/api/validate-yaml":
                    data = json.loads(body)
                    errors = [] if "library_name:" in data.get("content", "") else [{"message": "no library_name"}]
                    return self._send(200 if not errors else 400, {"errors": errors, "warnings": []})
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/(.+)", path)
                if m:
                    repo = self._repo_or_error(m.group(1))
                    if repo is None:
                        return None
                    if m.group(2) == "preupload":
                        files = json.loads(body)["files"]
                        return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            repo["files"][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                    digest = hashlib.sha1(b"".join(repo["files"][k] for k in sorted(repo["files"]))).hexdigest()
                    repo["sha"] = digest
                    repo.setdefault("revisions", {})[digest] = dict(repo["files"])
                    return self._send(200, {"commitUrl": f"{hub.url}/{m.group(1)}/commit/{digest}", "commitOid": digest,
                                            "pullRequestUrl": None})
                return self._send(404, {"error": f"no route {path}"})

            def _files_at(self, repo, revision):
                if revision in ("main", repo["sha"]):
                    return repo["files"], repo["sha"]
                files = repo.get("revisions", {}).get(revision)
                return (files, revision) if files is not None else (None, None)

            def do_GET(self):  # noqa: N802
                hub.requests.append((self.command, self.path, self.headers.get("authorization")))
                path = self.path.split("?")[0]
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path)
                if m:
                    repo = self._repo_or_error(m.group(1))
                    if repo is None:
                        return None
                    files, sha = self._files_at(repo, m.group(2) or "main")
                    if files is None:
                        return self._send(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
                    return self._send(200, {"id": m.group(1), "modelId": m.group(1), "sha": sha, "private": repo["private"],
                                            "siblings": [{"rfilename": name} for name in sorted(files)]})
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)", path)
                if m:
                    repo = self._repo_or_error(m.group(1))
                    if repo is None:
                        return None
                    files, _ = self._files_at(repo, m.group(2))
                    if files is None:
                        return self._send(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
                    return self._send(200, [{"type": "file", "path": name, "size": len(data),
                                             "oid": hashlib.sha1(data).hexdigest()} for name, data in sorted(files.items())])
                m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if m:
                    repo = self._repo_or_error(m.group(1))
                    if repo is None:
                        return None
                    files, sha = self._files_at(repo, m.group(2))
                    if files is None:
                        return self._send(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
                    if m.group(3) not in files:
                        return self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    content = files[m.group(3)]
                    etag = hashlib.sha1(content).hexdigest()
                    return self._send(200, content, {"X-Repo-Commit": sha, "ETag": f'"{etag}"'}, "application/octet-stream")
                return self._send(404, {"error": f"no route {path}"})

            do_HEAD = do_GET

        return Handler
