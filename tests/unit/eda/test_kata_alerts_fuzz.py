# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fuzzing the kata_alerts parser and framer (hypothesis): no exception escapes, memory stays
bounded, what goes in escaped comes out unescaped, and framed messages come out whole whatever the
chunking. Deterministic (derandomize) and a few seconds in all, so it runs in CI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.kaspersky.edr.tests.kata_alerts_samples import (
    PRODUCT, VENDOR, alert_message, kata_alerts, octet_frame)

ka = kata_alerts


def fuzz_settings(max_examples):
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


KATA_PREFIX = "<134>1 2026-12-04T18:00:00Z cn KATA - - - CEF:0|%s|%s|5.0|file_web|n|High|" % (VENDOR, PRODUCT)
# Characters that matter to the parser, plus anything else.
TRICKY = st.sampled_from(list("|\\= nr\r\n\x00:<>0123456789abcdefABCDEF")
                         + ["CEF:", "\u00e9", "\ufffd", "fileHash=", "shost=", "\\=", "\\|", "\\\\"])
TRICKY_TEXT = st.lists(st.one_of(TRICKY, st.characters()), max_size=200).map("".join)
HEX = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")


def check_result(result):
    """A parse result is a Dropped or a well-formed (kind, kata) that JSON can carry."""
    if isinstance(result, ka.Dropped):
        assert isinstance(result.reason, str)
        return
    kind, kata = result
    assert kind in (ka.ALERT, ka.HEARTBEAT, ka.ACTIVITY)
    json.dumps(kata)
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in kata["cef"].items())
    assert len(kata["hashes"]) == len(set(kata["hashes"]))
    assert all(HEX.fullmatch(digest) for digest in kata["hashes"])


@fuzz_settings(400)
@given(st.binary(max_size=600))
def test_any_bytes(data):
    check_result(ka.parse_message(data, "10.0.0.1"))


@fuzz_settings(250)
@given(TRICKY_TEXT)
def test_any_text_after_a_kata_header(text):
    check_result(ka.parse_message((KATA_PREFIX + text).encode("utf-8", "surrogatepass"), "10.0.0.1"))


@fuzz_settings(300)
@given(TRICKY_TEXT)
def test_any_text_as_a_header(text):
    check_result(ka.parse_message(("CEF:" + text).encode("utf-8", "surrogatepass"), "10.0.0.1"))
    check_result(ka.parse_message((text + "CEF:0|" + VENDOR + "|" + PRODUCT + "|1|c|n|Low|a=1").encode(
        "utf-8", "surrogatepass"), "10.0.0.1"))


@fuzz_settings(150)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=3000))
def test_cut_messages(tail, padding):
    data = KATA_PREFIX.encode() + b"cs1=" + b"x" * (ka.KATA_CUT_BYTES - 200 + padding) + b" fileHash=" + tail
    check_result(ka.parse_message(data, "10.0.0.1"))


def escape(value):
    return (value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r"))


VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40).filter(
    lambda value: value == value.strip())
KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,12}", fullmatch=True)


@fuzz_settings(120)
@given(st.dictionaries(KEY, VALUE, min_size=1, max_size=8))
def test_escaped_values_come_back_unescaped(pairs):
    extension = " ".join("%s=%s" % (key, escape(value)) for key, value in pairs.items())
    kind, kata = ka.parse_message((KATA_PREFIX + extension).encode("utf-8"), "10.0.0.1")
    assert kind == ka.ALERT
    assert kata["cef"] == pairs


HEADER_FIELD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=30).filter(
    lambda value: value == value.strip())


@fuzz_settings(200)
@given(HEADER_FIELD, HEADER_FIELD)
def test_escaped_header_fields_come_back_unescaped(class_id, name):
    def esc(field):
        return field.replace("\\", "\\\\").replace("|", "\\|")
    line = "CEF:0|%s|%s|5.0|%s|%s|High|a=1" % (VENDOR, PRODUCT, esc(class_id), esc(name))
    result = ka.parse_message(line.encode("utf-8"), "10.0.0.1")
    assert result[1]["alert_type"] == class_id and result[1]["name"] == name


MAX_BYTES = 512
FRAGMENTS = st.sampled_from([b"\n", b"\r\n", b"12 ", b"600 ", b"9999999 ", b"5 abcde", b"<134>"])
CHUNKS = st.lists(st.one_of(st.binary(max_size=300), FRAGMENTS), max_size=40)


@fuzz_settings(200)
@given(CHUNKS)
def test_framer_never_raises_and_memory_stays_bounded(chunks):
    drops = []
    framer = ka.StreamFramer(MAX_BYTES, drops.append)
    for chunk in chunks:
        for message in framer.feed(chunk):
            assert len(message) <= MAX_BYTES
        # an incomplete frame is at most max_bytes plus its length prefix, and one read on top
        assert len(framer.buffer) <= MAX_BYTES + 11 + len(chunk)
    last = framer.finish()
    assert last is None or len(last) <= MAX_BYTES + 11 + 300


MESSAGE = st.binary(min_size=1, max_size=200).filter(
    lambda data: b"\n" not in data and data[:1] not in b"0123456789 \t\r\x00" and data[-1:] not in b"\r \t\x00")


@fuzz_settings(120)
@given(st.lists(st.tuples(MESSAGE, st.booleans()), min_size=1, max_size=10), st.lists(st.integers(1, 64), min_size=1))
def test_framed_messages_come_out_whole_whatever_the_chunking(messages, cuts):
    stream = b"".join(octet_frame(data) if counted else data + b"\n" for data, counted in messages)
    chunks, start, index = [], 0, 0
    while start < len(stream):
        size = cuts[index % len(cuts)]
        chunks.append(stream[start:start + size])
        start += size
        index += 1
    drops = []
    framer = ka.StreamFramer(MAX_BYTES, drops.append)
    out = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    assert out == [data for data, _counted in messages]
    assert drops == []


@fuzz_settings(150)
@given(st.binary(max_size=2000))
def test_after_a_garbage_line_the_next_good_message_arrives(garbage):
    garbage = garbage.replace(b"\n", b"").lstrip(b"\r\x00 \t0123456789")
    framer = ka.StreamFramer(MAX_BYTES, lambda reason: None)
    good = alert_message()
    out = framer.feed(garbage + b"\n" + octet_frame(good) + good + b"\n")
    assert out[-2:] == [good, good]
    assert all(isinstance(ka.parse_message(message, "10.0.0.1"), ka.Dropped) for message in out[:-2])
