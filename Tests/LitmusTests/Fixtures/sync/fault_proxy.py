"""An HTTP proxy in front of an S3 server that injects the failures a network and a server
have: 503 replies before or after the request reached the server, connections dropped before
or after it, and slow replies. Used by Tests/LitmusTests/Sync to prove that `litmus sync`
neither loses nor duplicates an object.

    python fault_proxy.py --port P --upstream HOST:PORT --seed N --rate 0.3 --max-delay 1.5 --log FILE

Prints "ready <port>" when listening. Each request is logged as "<method> <path> <fault>".
One upstream connection per request (Connection: close), so replies are read to the end.
"""
import argparse, random, socket, sys, threading, time

FAULTS = ["503-before", "503-after", "drop-before", "drop-after", "slow"]


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return lines, rest, length


def read_body(conn, rest, length):
    body = rest
    while len(body) < length:
        chunk = conn.recv(min(1 << 20, length - len(body)))
        if not chunk:
            return None
        body += chunk
    return body


def forward(upstream, lines, body):
    out = [lines[0]]
    for line in lines[1:]:
        if line.split(b":")[0].strip().lower() in (b"connection", b"keep-alive"):
            continue
        out.append(line)
    out.append(b"Connection: close")
    s = socket.create_connection(upstream)
    s.sendall(b"\r\n".join(out) + b"\r\n\r\n" + body)
    reply = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply


def error_503():
    body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>injected</Message></Error>"
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body


def serve(conn, args, rng, log, lock):
    try:
        while True:
            req = read_request(conn)
            if req is None:
                return
            lines, rest, length = req
            method, path = lines[0].split(b" ")[:2]
            with lock:
                fault = rng.choice(FAULTS) if rng.random() < args.rate else "none"
                delay = rng.uniform(0, args.max_delay)
            log.write("%s %s %s\n" % (method.decode(), path.decode(), fault))
            log.flush()
            if fault == "drop-before":
                # Read part of the body, then hang up: the request never reaches the server.
                if length > 0:
                    conn.recv(min(length, 1024))
                return
            body = read_body(conn, rest, length)
            if body is None:
                return
            if fault == "503-before":
                conn.sendall(error_503())
                return
            reply = forward(args.upstream, lines, body)
            if fault == "503-after":
                conn.sendall(error_503())
                return
            if fault == "drop-after":
                return
            if fault == "slow":
                time.sleep(delay)
            # Keep the client's connection only if the reply says how long it is.
            conn.sendall(reply.replace(b"Connection: close\r\n", b"").replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
            return
    except (ConnectionError, OSError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=0.3)
    p.add_argument("--max-delay", type=float, default=1.5)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    args.upstream = (host, int(port))
    rng = random.Random(args.seed)
    lock = threading.Lock()
    log = open(args.log, "a")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(64)
    print("ready %d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, args, rng, log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
