"""The memory of an HTTP server process under idle connections and hostile requests: for
each step, its resident set (VmRSS) after the step and its peak during the step (VmHWM,
reset before each step through /proc/PID/clear_refs), with the status or behaviour seen.

    python3 bench/http_hostile.py PID PORT API_KEY     (run by bench/http_memory.sh)

Each hostile client writes until the server answers, closes or resets, and reports how much
it had sent by then: a server that refuses early has read little. Bodies are not JSON (x's,
or spaces once inflated), so a 422 says the server read the body to its end.
"""

import itertools
import select
import socket
import sys
import threading
import time
import zlib
from pathlib import Path

MiB = 1 << 20
pid, port, api_key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
status_file = Path(f"/proc/{pid}/status")
clear_refs = Path(f"/proc/{pid}/clear_refs")


def memory_kib():
    fields = dict(line.split(":", 1) for line in status_file.read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def reset_peak():
    try:
        clear_refs.write_text("5")  # 5: reset the peak resident set size to the current one
        return True
    except OSError:
        return False


def connect(timeout=30):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_status(sock):
    """The status code of the response on sock, or what happened instead."""
    data = b""
    try:
        while b"\r\n" not in data:
            piece = sock.recv(4096)
            if not piece:
                return "closed without a response" if not data else f"cut response {data[:40]!r}"
            data += piece
    except socket.timeout:
        return "no response (timed out)"
    except ConnectionResetError:
        return "connection reset"
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 else repr(data[:40])


def send_until_answered(head, pieces, total_timeout=60):
    """Writes head then each piece, stopping when the server answers, closes or stops reading."""
    sock = connect()
    sent, start = 0, time.monotonic()
    outcome = None
    try:
        for piece in itertools.chain([head], pieces):
            sock.settimeout(0)
            try:
                sock.recv(1, socket.MSG_PEEK)  # data, an end or a reset: the server is done with us
                answered = True
            except BlockingIOError:
                answered = False
            except ConnectionResetError:
                answered = True
            sock.settimeout(30)
            if answered:
                outcome = read_status(sock) + " before the end of the request"
                break
            sock.sendall(piece)
            sent += len(piece)
            if time.monotonic() - start > total_timeout:
                outcome = f"still reading after {total_timeout} s"
                break
    except socket.timeout:
        outcome = "the server stopped reading (a write blocked 30 s)"
    except (BrokenPipeError, ConnectionResetError) as error:
        sock.settimeout(2)
        seen = read_status(sock)
        outcome = (f"{seen}, then " if seen[0].isdigit() else "") + f"{type(error).__name__} while sending"
    if outcome is None:
        outcome = read_status(sock)
    sock.close()
    return f"{outcome}; {sent / MiB:.2f} MiB sent in {time.monotonic() - start:.1f} s"


def chunked(total, size=64 * 1024):
    """A chunked body of total bytes, in chunks of size."""
    body_piece = b"x" * size
    left = total
    while left > 0:
        n = min(size, left)
        yield b"%x\r\n" % n + body_piece[:n] + b"\r\n"
        left -= n
    yield b"0\r\n\r\n"


def post_head(*, key=True, extra=""):
    key_header = f"X-API-Key: {api_key}\r\n" if key else ""
    return (f"POST /recipe_runs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{key_header}{extra}\r\n").encode()


def get_root(timeout):
    """Status and seconds of GET / on a connection of its own."""
    start = time.monotonic()
    try:
        with connect(timeout) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status = read_status(sock)
    except OSError as error:
        status = type(error).__name__
    return status, time.monotonic() - start


def idle_connections(count, after_request, deadline=30):
    """count connections held open 3 s (after_request: each first has an answer to a GET /,
    a keep-alive connection left idle), with a GET / timed meanwhile."""
    sockets = [connect() for _ in range(count)]
    answered = ""
    if after_request:
        for sock in sockets:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        start, waiting = time.monotonic(), set(sockets)
        while waiting and time.monotonic() - start < deadline:
            ready, _, _ = select.select(list(waiting), [], [], 0.5)
            for sock in ready:
                sock.recv(65536)
                waiting.discard(sock)
        answered = f"{count - len(waiting)} answered in {time.monotonic() - start:.1f} s, then "
    time.sleep(3)
    status, seconds = get_root(timeout=20)
    closed = 0
    for sock in sockets:
        sock.settimeout(0)
        try:
            if sock.recv(65536) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    memory_while_held = memory_kib()
    for sock in sockets:
        sock.close()
    return (f"{answered}held 3 s: {closed} closed by the server; GET / meanwhile: {status} in {seconds:.2f} s",
            memory_while_held)


def slow_clients(count=8, every=3.0, hold=30.0):
    """count clients each sending one header line every `every` seconds, for up to `hold` s."""
    held = []

    def client(index):
        start = time.monotonic()
        try:
            with connect() as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                line = 0
                while time.monotonic() - start < hold:
                    time.sleep(every)
                    sock.sendall(b"X-Slow-%d: %d\r\n" % (index, line))
                    line += 1
                held.append(f"{time.monotonic() - start:.0f}")
        except OSError:
            held.append(f"cut at {time.monotonic() - start:.0f}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    status, seconds = get_root(timeout=25)
    for thread in threads:
        thread.join()
    return (f"{count} clients, a line every {every:.0f} s; GET / meanwhile: {status} in {seconds:.1f} s; "
            f"slow clients held (s): {', '.join(sorted(held))}")


def headers(total, line_size=1024, lines_per_piece=64):
    """total bytes of header lines of line_size bytes each, written lines_per_piece at a time."""
    line = b"X-Padding-%08d: " + b"a" * (line_size - 22) + b"\r\n"
    for first in range(0, total // line_size, lines_per_piece):
        yield b"".join(line % i for i in range(first, first + lines_per_piece))
    yield b"\r\n"


def gzip_bomb(inflated):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = b" " * MiB  # JSON whitespace: a parser that inflates it all reads on to the end
    data = b"".join(compressor.compress(block) for _ in range(inflated // MiB)) + compressor.flush()
    return data


def step(name, action):
    if not Path(f"/proc/{pid}").exists():
        print(f"{name:38s} (the server is gone)")
        return
    reset = reset_peak()
    start = time.monotonic()
    result = action()
    took = time.monotonic() - start
    rss, peak = result[1] if isinstance(result, tuple) else memory_kib()
    behaviour = result[0] if isinstance(result, tuple) else result
    if not Path(f"/proc/{pid}").exists():
        behaviour += "; THE SERVER DIED"
        rss = peak = float("nan")
    peak_label = "" if reset else " (peak since start)"
    print(f"{name:38s} VmRSS {rss / 1024:7.1f} MiB  VmHWM {peak / 1024:7.1f} MiB{peak_label}  "
          f"[{took:.0f} s] {behaviour}", flush=True)


def main():
    rss, peak = memory_kib()
    print(f"{'idle':38s} VmRSS {rss / 1024:7.1f} MiB  VmHWM {peak / 1024:7.1f} MiB (since start)", flush=True)
    step("200 idle connections (nothing sent)", lambda: idle_connections(200, after_request=False))
    step("200 idle keep-alive connections", lambda: idle_connections(200, after_request=True))
    step("chunked 3 MB body (with the key)", lambda: send_until_answered(
        post_head(extra="Transfer-Encoding: chunked\r\n"), chunked(3_000_000)))
    step("chunked 100 MiB body, no API key", lambda: send_until_answered(
        post_head(key=False, extra="Transfer-Encoding: chunked\r\n"), chunked(100 * MiB)))
    step("64 MiB of headers", lambda: send_until_answered(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", headers(64 * MiB)))
    step("slow clients (slowloris)", slow_clients)
    bomb = gzip_bomb(200 * MiB)
    step(f"gzip bomb ({len(bomb) / 1000:.0f} KB -> 200 MiB)", lambda: send_until_answered(
        post_head(extra=f"Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n"), [bomb]))
    status, seconds = get_root(timeout=10)
    rss, peak = memory_kib() if Path(f"/proc/{pid}").exists() else (float("nan"),) * 2
    print(f"{'after all':38s} VmRSS {rss / 1024:7.1f} MiB  GET /: {status} in {seconds:.2f} s")


if __name__ == "__main__":
    main()
