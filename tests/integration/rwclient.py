"""A small remote_write 1.0 client for tests: protobuf encoding by hand and
snappy's block format with literal-only runs (valid snappy that any
decoder reads; compression is not the point here)."""

import struct
import urllib.error
import urllib.request


def _uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field_bytes(num, data):
    return _uvarint(num << 3 | 2) + _uvarint(len(data)) + data


def _label(name, value):
    return _field_bytes(1, name.encode()) + _field_bytes(2, value.encode())


def _sample(t_ms, v):
    out = b""
    if v != 0 or struct.pack("<d", v) != b"\0" * 8:
        out += _uvarint(1 << 3 | 1) + struct.pack("<d", v)
    if t_ms:
        out += _uvarint(2 << 3 | 0) + _uvarint(t_ms & 0xFFFFFFFFFFFFFFFF)
    return out


def write_request(series):
    """series: list of (labels dict, [(t_ms, value), ...])."""
    body = b""
    for labels, samples in series:
        ts = b"".join(_field_bytes(1, _label(k, labels[k])) for k in sorted(labels))
        ts += b"".join(_field_bytes(2, _sample(t, v)) for t, v in samples)
        body += _field_bytes(1, ts)
    return body


def snappy_literal(data):
    out = bytearray(_uvarint(len(data)))
    i = 0
    while i < len(data):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
        i += len(chunk)
    return bytes(out)


def send(url, series, headers=None, raw=None, timeout=10):
    """POSTs a remote_write request; returns (status, body)."""
    body = raw if raw is not None else snappy_literal(write_request(series))
    h = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
         "X-Prometheus-Remote-Write-Version": "0.1.0"}
    if headers:
        h.update(headers)
    req = urllib.request.Request(url, data=body, method="POST", headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
