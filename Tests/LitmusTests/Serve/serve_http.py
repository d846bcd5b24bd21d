# Sends raw HTTP requests to `litmus serve` (http.client: the path is sent as written, no
# normalisation) and prints the answers as JSON. argv[1] = {"port": N, "requests": [...]},
# each {"method", "path", "headers", "body", "cookie_from_first": bool}. A request may say
# "csrf": true to send the CSRF token and cookie of a page fetched first (GET /).
import http.client, json, re, sys

spec = json.loads(sys.argv[1])
port = spec["port"]
session = {"cookie": None, "csrf": None}


def send(method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    data = body.encode() if isinstance(body, str) else None
    if data is not None:
        c.putheader("Content-Length", str(len(data)))
    c.endheaders(data)
    r = c.getresponse()
    text = r.read().decode(errors="replace")
    answer = {"status": r.status, "headers": {k.lower(): v for k, v in r.getheaders()}, "body": text[:20000]}
    c.close()
    return answer


out = []
for q in spec["requests"]:
    headers = dict(q.get("headers") or {})
    if q.get("csrf"):
        if session["cookie"] is None:
            page = send("GET", "/", dict(q.get("page_headers") or {}))
            session["cookie"] = page["headers"].get("set-cookie", "").split(";")[0]
            m = re.search(r'name="csrf" content="([0-9a-f]+)"', page["body"])
            session["csrf"] = m.group(1) if m else ""
        headers.setdefault("Cookie", session["cookie"])
        if q.get("csrf") != "cookie-only":
            headers.setdefault("X-CSRF-Token", session["csrf"])
    out.append(send(q.get("method", "GET"), q["path"], headers, q.get("body")))
print(json.dumps(out))
