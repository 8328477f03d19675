"""Building Loki protobuf pushes for tests: a plain protobuf writer and snappy literals.

Written from the wire-format specifications, independently of the decoders under test.
"""


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def push_request(streams: list[tuple[str, list[tuple[int, int, str, dict[str, str]]]]]) -> bytes:
    """PushRequest bytes: streams of (labels, [(seconds, nanos, line, metadata)])."""
    body = b""
    for labels, entries in streams:
        stream = field(1, labels.encode())
        for seconds, nanos, line, metadata in entries:
            timestamp = field(1, seconds) + field(2, nanos)
            entry = field(1, timestamp) + field(2, line.encode())
            for name, value in metadata.items():
                entry += field(3, field(1, name.encode()) + field(2, value.encode()))
            stream += field(2, entry)
        body += field(1, stream)
    return body


def snappy_literals(data: bytes) -> bytes:
    """A valid snappy block made only of literals (no compression, but any decoder reads it)."""
    out = bytearray(varint(len(data)))
    for start in range(0, len(data), 60):
        chunk = data[start : start + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)
