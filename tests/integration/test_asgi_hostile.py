"""Hostile input over HTTP: every malformed body or parameter is a 4xx naming what is
wrong, nothing from it is stored, and nothing it sends can poison later reads."""

import gzip
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observabilipy import Engine
from tests.asgi_client import call
from tests.loki_wire import push_request, snappy_literals

LOKI_JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    with Engine(tmp_path / "app.db") as engine:
        yield engine


def loki(values, labels=None) -> bytes:
    return json.dumps({"streams": [{"stream": labels or {"job": "x"}, "values": values}]}).encode()


def messages(app) -> list[str]:
    response = call(app, "GET", "/logs")
    assert response.status == 200
    return [json.loads(line)["message"] for line in response.body.splitlines()]


@pytest.mark.parametrize(
    "stamp", ["300000000000000000000", "-300000000000000000000", "9" * 4000, "1" + "0" * 5000]
)
def test_a_loki_timestamp_outside_years_1_to_9999_is_refused_and_reads_stay_healthy(engine, stamp):
    """The issue's reproduction was accepted (204) and made every later read fail; now
    it is a 400 naming the entry, and GET /logs and `follow` serve the good lines."""
    app = engine.asgi_app()
    assert call(app, "POST", "/loki/api/v1/push", body=loki([["1700000000000000000", "ok"]]),
                headers=LOKI_JSON).status == 204  # fmt: skip
    bad = loki([["1700000000000000001", "fine"], [stamp, "poison"]])
    response = call(app, "POST", "/loki/api/v1/push", body=bad, headers=LOKI_JSON)
    assert response.status == 400
    error = json.loads(response.body)["error"]
    assert "streams[0].values[1]" in error
    assert messages(app) == ["ok"]  # nothing of the refused push, not even its good line
    follow = call(app, "GET", "/logs", query="follow=1", disconnect_after=0.3)
    assert [json.loads(line)["message"] for line in follow.body.splitlines()] == ["ok"]


def test_a_protobuf_push_with_a_timestamp_out_of_range_is_refused(engine):
    """The same rule for Alloy's snappy protobuf: seconds far past year 9999 are a 400."""
    app = engine.asgi_app()
    body = snappy_literals(push_request([('{job="x"}', [(2**62, 0, "poison", {})])]))
    response = call(app, "POST", "/loki/api/v1/push", body=body, headers=PROTOBUF)
    assert response.status == 400
    assert "outside years 1-9999" in json.loads(response.body)["error"]
    assert messages(app) == []


@pytest.mark.parametrize(
    ("path", "body", "headers", "wanted"),
    [
        ("/logs", b'{"message":"ok"}\n{"message":"caf\xe9"}\n', {}, "line 2: not valid UTF-8"),
        # Too deep for the decoder on some versions, a list (not an entry) on others.
        ("/logs", b'{"message":"ok"}\n' + b"[" * 1000 + b"]" * 1000, {}, "line 2: "),
        ("/logs", b'{"message":"x","attributes":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
         {}, "line 1"),
        ("/loki/api/v1/push", b'{"streams":[{"stream":{},"values":[["1","\xff"]]}]}', LOKI_JSON,
         "not valid UTF-8"),
        ("/loki/api/v1/push", b'{"streams":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         LOKI_JSON, "nested"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_utf8_or_nest_too_deep_are_4xx_naming_the_line(
    engine, path, body, headers, wanted
):
    """These were 500s: msgspec's UTF-8 and depth errors are now the client's 400."""
    app = engine.asgi_app()
    response = call(app, "POST", path, body=body, headers=headers)
    assert response.status == 400, response.body
    assert wanted in json.loads(response.body)["error"]
    assert messages(app) == []


def test_the_largest_cursor_reads_nothing_and_one_past_it_is_refused(engine):
    """after=2**63-1 is a valid cursor with nothing after it (it was a 500); 2**63 is a
    400 naming the parameter, as is a cursor thousands of digits long."""
    app = engine.asgi_app()
    call(app, "POST", "/logs", body=b'{"message":"x"}')
    last = call(app, "GET", "/logs", query="after=9223372036854775807")
    assert (last.status, last.body) == (200, b"")
    for value in ("9223372036854775808", "9" * 5000):
        response = call(app, "GET", "/logs", query=f"after={value}")
        assert response.status == 400
        assert "after" in json.loads(response.body)["error"]


def test_every_member_of_a_gzip_body_is_read_and_trailing_bytes_refused(engine):
    """Two concatenated gzip members store both (only the first was, and it said
    accepted:1); bytes after the last member are a 400 and store nothing."""
    app = engine.asgi_app()
    zipped = {"Content-Encoding": "gzip"}
    two = gzip.compress(b'{"message":"one"}\n') + gzip.compress(b'{"message":"two"}\n')
    response = call(app, "POST", "/logs", body=two, headers=zipped)
    assert json.loads(response.body) == {"accepted": 2}
    trailing = gzip.compress(b'{"message":"three"}\n') + b"garbage"
    refused = call(app, "POST", "/logs", body=trailing, headers=zipped)
    assert refused.status == 400
    assert "after its gzip data" in json.loads(refused.body)["error"]
    assert messages(app) == ["one", "two"]


def test_a_token_in_any_script_matches(engine):
    """A non-ASCII token is compared as UTF-8 bytes: the right one passes, others not."""
    app = engine.asgi_app(token="pässwörd-密码")
    ok = call(app, "GET", "/healthz", headers={"Authorization": "Bearer pässwörd-密码"})
    assert ok.status == 200
    wrong = call(app, "GET", "/healthz", headers={"Authorization": "Bearer passwort"})
    assert wrong.status == 401


poison_strings = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\\ud800", "\\udfff x", "\\u0000", "é", "\\\\", '\\"']),
    st.integers(10, 2000).map(lambda n: "x" * n),
)
poison_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(19, 400).map(lambda digits: int("9" * digits)),
        st.floats(allow_nan=False, allow_infinity=False),
        poison_strings.map(lambda text: f"__raw__{text}"),
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children)
    ),
    max_leaves=10,
)


def _json(value) -> str:
    """JSON text for generated values; strings marked __raw__ keep their escapes as
    written, so lone surrogates and other odd escapes reach the server."""
    if isinstance(value, str) and value.startswith("__raw__"):
        return '"' + value[7:].replace('"', "") + '"'
    if isinstance(value, list):
        return "[" + ",".join(map(_json, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    way=st.sampled_from(["ndjson", "loki"]),
    lines=st.lists(
        st.tuples(
            poison_strings, poison_strings, st.dictionaries(st.text(max_size=5), poison_values)
        ),
        min_size=1,
        max_size=5,
    ),
    stamp=st.one_of(st.none(), st.integers(-(10**30), 10**30)),
)
def test_poison_through_http_is_stored_counted_or_refused_never_a_5xx(engine, way, lines, stamp):
    """Lone-surrogate escapes, huge integers, deep and wide attributes, odd timestamps
    through POST /logs and the Loki push: a 2xx stores or rejects (and counts) every
    line, a 4xx stores none, never a 5xx; the engine's accounting adds up."""
    app = engine.asgi_app()
    before = engine.accounting()
    if way == "ndjson":
        body = "\n".join(
            "{"
            + f'"message":{_json("__raw__" + message)},"logger":{_json("__raw__" + logger)},'
            + f'"attributes":{_json(attributes)}'
            + ("" if stamp is None else f',"timestamp":{stamp}')
            + "}"
            for message, logger, attributes in lines
        )
        response = call(app, "POST", "/logs", body=body.encode(errors="surrogatepass"))
    else:
        values = ",".join(
            f'["{1_700_000_000_000_000_000 if stamp is None else stamp}",{_json("__raw__" + m)},'
            + "{"
            + ",".join(f"{json.dumps(k)}:{json.dumps(str(v))}" for k, v in a.items())
            + "}]"
            for m, _, a in lines
        )
        body = '{"streams":[{"stream":{"job":"x"},"values":[' + values + "]}]}"
        response = call(
            app, "POST", "/loki/api/v1/push", body=body.encode(errors="surrogatepass"),
            headers=LOKI_JSON,
        )  # fmt: skip
    assert response.status < 500, response.body
    after = engine.accounting()
    assert after["appended"] == after["stored"] + after["dropped"] + after["rejected"]
    if response.status < 300:
        assert after["appended"] - before["appended"] == len(lines)
    else:
        assert after["appended"] == before["appended"]
