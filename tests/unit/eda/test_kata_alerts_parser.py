# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kata_alerts event source without sockets: syslog headers, CEF escaping, TCP framing,
truncation, classification (alert, heartbeat, activity record, not KATA), hashes, time, arguments,
batches and the rate-limited drop warnings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import logging
import random
import socket

import pytest
import yaml

from ansible_collections.kaspersky.edr.tests.kata_alerts_samples import (
    COMPOSITE_MD5, MD5, PRODUCT, SHA256, activity_message, alert_message, cef, heartbeat_message, kata_alerts, octet_frame,
    rfc3164, rfc5424)

ka = kata_alerts


def parse(text, sender="192.0.2.1"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return ka.parse_message(data, sender)


def alert(text):
    result = parse(text)
    assert not isinstance(result, ka.Dropped), result
    assert result[0] == ka.ALERT, result
    return result[1]


def ext(keys):
    """The kata dict of an alert with only ``keys`` (a list of (key, escaped value))."""
    return alert(cef(keys=keys))


# ------------------------------------------------------------------ the documented event shape

def test_a_documented_file_web_alert_gives_the_documented_event():
    kata = alert(rfc5424(cef()))
    assert kata == {
        "alert_type": "file_web",
        "name": "File from web detected",
        "severity": "High",
        "product": PRODUCT,
        "product_version": "5.0.0-200",
        "alert_id": "8f14e45f",
        "time": "1733335200123",
        "time_iso": "2024-12-04T18:00:00.123Z",
        "central_node": "kata-cn.corp.example",
        "host": "WS-001.corp.example",
        "source_ip": "203.0.113.9",
        "destination_ip": "10.0.0.7",
        "user": "CORP\\alice",
        "file": {"name": "invoice 2026.exe", "size": 73802, "type": "PE32 executable", "md5": MD5,
                 "sha256": SHA256},
        "hashes": [MD5, COMPOSITE_MD5, SHA256],
        "cef": kata["cef"],
        "syslog": {"facility": 16, "severity": 6, "timestamp": "2026-12-04T18:00:00.000Z",
                   "hostname": "kata-cn.corp.example"},
        "received_from": "192.0.2.1",
    }
    assert list(kata["cef"]) == [
        "dvchost", "eventId", "rt", "dst", "dpt", "src", "spt", "shost", "suser", "fName", "fsize", "fileType",
        "fileHash", "KasperskyLabKATAcompositeFilePath", "KasperskyLabKATAcompositeFileSize",
        "KasperskyLabKATAcompositeFileHash", "KasperskyLabKATAfileSHA256", "cs1", "cs2", "cs3", "cs3Label", "app",
        "requestMethod", "requestClientApplication", "request", "requestContext"]
    assert kata["cef"]["requestClientApplication"] == "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
    assert kata["cef"]["fileHash"] == MD5.upper()  # cef keeps the value as sent


def test_missing_keys_are_left_out_and_host_falls_back_to_dhost_and_central_node_to_dvc():
    kata = ext([("dvc", "10.0.0.1"), ("dhost", "WS-9")])
    assert kata["host"] == "WS-9"
    assert kata["central_node"] == "10.0.0.1"
    for key in ("alert_id", "time", "time_iso", "source_ip", "destination_ip", "user", "file"):
        assert key not in kata
    assert kata["hashes"] == []
    assert "host" not in ext([("src", "10.0.0.2")])
    assert ext([("shost", "A"), ("dhost", "B")])["host"] == "A"
    assert ext([("dvchost", "cn"), ("dvc", "10.0.0.1")])["central_node"] == "cn"


def test_file_size_and_hashes_are_set_only_when_valid():
    kata = ext([("fName", "x"), ("fsize", "12k"), ("fileHash", "not-a-hash"), ("KasperskyLabKATAfileSHA256", "ab")])
    assert kata["file"] == {"name": "x"}
    # fileHash carrying a SHA256 is filed as the sha256
    assert ext([("fileHash", SHA256.upper())])["file"] == {"sha256": SHA256}


# ------------------------------------------------------------------ escaping

def test_header_fields_split_on_unescaped_bars_only():
    kata = alert("CEF:0|AO Kaspersky Lab|%s|5.0|file_web|Name with \\| bar and \\\\ backslash|High|a=1" % PRODUCT)
    assert kata["name"] == "Name with | bar and \\ backslash"
    assert kata["cef"] == {"a": "1"}


def test_an_escaped_backslash_before_a_bar_ends_the_field():
    kata = alert("CEF:0|AO Kaspersky Lab|%s|5.0|file_web|ends in backslash\\\\|High|a=1" % PRODUCT)
    assert kata["name"] == "ends in backslash\\"
    assert kata["severity"] == "High"


def test_unknown_escapes_in_the_header_are_kept():
    assert alert("CEF:0|AO Kaspersky Lab|%s|5.0|file_web|a\\nb|High|" % PRODUCT)["name"] == "a\\nb"


def test_extension_escapes_are_unescaped():
    kata = ext([("msg", "a\\=b c\\\\d line1\\nline2\\rend"), ("next", "1")])
    assert kata["cef"]["msg"] == "a=b c\\d line1\nline2\rend"
    assert kata["cef"]["next"] == "1"


def test_an_escaped_equals_sign_never_starts_a_key():
    kata = ext([("request", "http://x/?a\\=1 b\\=2"), ("shost", "WS")])
    assert kata["cef"] == {"request": "http://x/?a=1 b=2", "shost": "WS"}


def test_a_bar_in_the_extension_is_data_and_unknown_extension_escapes_are_kept():
    kata = ext([("cs1", "a|b \\| c"), ("cs2", "tab\\tend")])
    assert kata["cef"] == {"cs1": "a|b \\| c", "cs2": "tab\\tend"}


def test_values_hold_spaces_and_keys_are_kept_as_sent():
    kata = ext([("fName", "my  file name.exe"), ("CS1Label", "Upper Case"), ("cs1label", "lower")])
    assert kata["cef"] == {"fName": "my  file name.exe", "CS1Label": "Upper Case", "cs1label": "lower"}


def test_an_escaped_backslash_at_the_end_of_a_value():
    assert ext([("suser", "DOMAIN\\\\"), ("shost", "WS")])["cef"] == {"suser": "DOMAIN\\", "shost": "WS"}


def test_text_before_the_first_key_and_trailing_spaces_are_ignored():
    kata = alert("CEF:0|AO Kaspersky Lab|%s|5.0|file_web|n|High|  junk shost=WS-1   src=10.0.0.1   " % PRODUCT)
    assert kata["cef"] == {"shost": "WS-1", "src": "10.0.0.1"}


def test_split_cef_header_direct():
    assert ka.split_cef_header("0|a|b|c|d|e|f|x=1") == (["0", "a", "b", "c", "d", "e", "f"], "x=1")
    assert ka.split_cef_header("0|a\\|b|c|d|e|f|g|") == (["0", "a|b", "c", "d", "e", "f", "g"], "")
    assert ka.split_cef_header("0|a|b|c|d|e|0") == (["0", "a", "b", "c", "d", "e", "0"], "")
    assert ka.split_cef_header("0|a|b|c") is None


# ------------------------------------------------------------------ syslog headers

def test_rfc5424_header():
    kata = alert(rfc5424(cef(), hostname="cn1", pri=165))
    assert kata["syslog"] == {"facility": 20, "severity": 5, "timestamp": "2026-12-04T18:00:00.000Z",
                              "hostname": "cn1"}


def test_rfc5424_nil_values_and_structured_data():
    kata = alert("<14>1 - - app 12 ID [exampleSDID@32473 iut=\"3\" eventSource=\"A B\"] \ufeff" + cef())
    assert kata["syslog"] == {"facility": 1, "severity": 6}


def test_rfc3164_header_with_and_without_tag_and_hostname():
    assert alert(rfc3164(cef(), hostname="kata-cn"))["syslog"] == {
        "facility": 16, "severity": 6, "timestamp": "Dec  4 18:00:00", "hostname": "kata-cn"}
    assert alert("<134>Dec 14 08:01:02 kata-cn " + cef())["syslog"]["hostname"] == "kata-cn"
    assert alert("<134>Dec 14 08:01:02 kata[123]: " + cef())["syslog"] == {
        "facility": 16, "severity": 6, "timestamp": "Dec 14 08:01:02"}
    assert alert("Dec 14 08:01:02 cn tag: " + cef())["syslog"] == {"timestamp": "Dec 14 08:01:02", "hostname": "cn"}


def test_rfc3164_style_header_with_an_iso_time_stamp():
    assert alert("<134>2026-12-04T18:00:00+03:00 cn kata: " + cef())["syslog"]["timestamp"] == "2026-12-04T18:00:00+03:00"


def test_bare_cef_line_and_odd_headers():
    assert alert(cef())["syslog"] == {}
    assert alert("<999>" + cef())["syslog"] == {}  # an out-of-range PRI is ignored
    assert alert("garbage before " + cef())["syslog"] == {}


# ------------------------------------------------------------------ classification

def test_other_vendors_and_products_are_not_kata():
    assert parse(cef(vendor="Other Vendor")).reason == "not_kata"
    assert parse(cef(product="Kaspersky Security Center")).reason == "not_kata"
    assert parse(cef(vendor="AO Kaspersky Lab ")).__class__ is not ka.Dropped  # header fields are stripped


def test_sandbox_and_edr_expert_product_variants_are_kata():
    for product in (PRODUCT + " (Sandbox)", PRODUCT + " (EDR Expert)", PRODUCT):
        assert alert(cef(product=product))["product"] == product


def test_not_cef_and_bad_header_are_dropped_with_a_reason():
    assert parse(b"hello world").reason == "not_cef"
    assert parse(b"<134>Dec  4 18:00:00 host CEF:0|AO Kaspersky Lab|x").reason == "bad_cef_header"
    assert parse(b"").reason == "not_cef"


def test_heartbeat():
    kind, kata = parse(heartbeat_message())
    assert kind == ka.HEARTBEAT
    assert kata["heartbeat"] is True
    assert kata["severity"] == "0"
    # a heartbeat without an extension at all
    assert parse("CEF:0|AO Kaspersky Lab|%s|5.0|heartbeat|Heartbeat|0" % PRODUCT)[0] == ka.HEARTBEAT


@pytest.mark.parametrize("class_id", sorted(ka.ACTIVITY_CLASSES))
def test_activity_log_records_are_not_alerts(class_id):
    kind, kata = parse(activity_message(class_id))
    assert kind == ka.ACTIVITY
    assert kata["alert_type"] == class_id
    assert kata["user"] == "admin"
    assert kata["cef"]["externalId"] == "1234"
    assert "heartbeat" not in kata


@pytest.mark.parametrize("class_id", ["file_web", "file_mail", "ids", "url_web", "url_mail", "dns", "taa", "ioc"])
def test_every_other_class_id_is_an_alert(class_id):
    assert alert(cef(class_id=class_id))["alert_type"] == class_id


# ------------------------------------------------------------------ hashes

def test_hashes_from_any_value_lower_case_unique_in_order():
    kata = ext([("cs1", "first %s then %s" % (SHA256.upper(), MD5)), ("fileHash", MD5.upper()),
                ("request", "http://x/%s.exe" % COMPOSITE_MD5)])
    assert kata["hashes"] == [SHA256, MD5, COMPOSITE_MD5]


def test_hex_strings_of_other_lengths_or_inside_words_are_not_hashes():
    sha1 = "a" * 40
    kata = ext([("cs1", sha1), ("cs2", "x" + MD5), ("cs3", MD5 + "0"), ("cs4", "g" * 32), ("cs5", SHA256 + "ab")])
    assert kata["hashes"] == []


def test_identifier_keys_are_not_hashes():
    kata = ext([("eventId", MD5), ("externalId", COMPOSITE_MD5), ("deviceExternalId", SHA256)])
    assert kata["hashes"] == []


# ------------------------------------------------------------------ truncation (32 KB cut)

def cut_message(last):
    """A message over KATA's cut size whose last pair is ``last``."""
    padding = "x" * (ka.KATA_CUT_BYTES + 100)
    return rfc5424(cef(keys=[("shost", "WS-1"), ("fileHash", MD5), ("cs1", padding), last]))


def test_a_cut_message_keeps_the_good_keys_and_drops_the_cut_last_pair():
    kata = alert(cut_message(("KasperskyLabKATAfileSHA256", SHA256[:32])))  # a SHA256 cut to look like an MD5
    assert kata["host"] == "WS-1"
    assert kata["hashes"] == [MD5]
    assert kata["file"] == {"md5": MD5}
    assert "KasperskyLabKATAfileSHA256" not in kata["cef"]
    assert kata["cef"]["cs1"].startswith("xxx")


def test_a_cut_in_the_middle_of_a_key():
    kata = alert(rfc5424(cef(keys=[("shost", "WS-1"), ("cs1", "y" * ka.KATA_CUT_BYTES)])) + " fileHa")
    # "fileHa" has no "=", so it is part of the last value, which is dropped
    assert list(kata["cef"]) == ["shost"]


def test_a_short_message_keeps_its_last_pair():
    assert ext([("shost", "WS-1"), ("fileHash", MD5)])["hashes"] == [MD5]


# ------------------------------------------------------------------ bytes that are not text

def test_invalid_utf8_and_nul_bytes():
    data = rfc5424(cef(keys=[("shost", "WS-1"), ("cs1", "bad")])).encode() + b"\xff\xfe\x00 suser=bob\x00"
    kind, kata = ka.parse_message(data, "10.0.0.1")
    assert kind == ka.ALERT
    assert kata["cef"]["cs1"] == "bad\ufffd\ufffd"
    assert kata["user"] == "bob"


# ------------------------------------------------------------------ time

@pytest.mark.parametrize("value, expected", [
    ("1733335200123", "2024-12-04T18:00:00.123Z"),
    ("1733335200", "2024-12-04T18:00:00.000Z"),
    ("Apr 25 2025 04:59:16", "2025-04-25T04:59:16"),
    ("Apr  5 2025 04:59:16", "2025-04-05T04:59:16"),
    ("Apr 25 2025 04:59:16.5", "2025-04-25T04:59:16.500"),
    ("Apr 25 2025 04:59:16 UTC", "2025-04-25T04:59:16Z"),
    ("Apr 25 2025 04:59:16.123 +0300", "2025-04-25T04:59:16.123+03:00"),
    ("Apr 25 2025 04:59:16 -05:30", "2025-04-25T04:59:16-05:30"),
    ("2025-04-25T04:59:16Z", "2025-04-25T04:59:16+00:00"),
    ("2025-04-25T04:59:16.250+03:00", "2025-04-25T04:59:16.250000+03:00"),
])
def test_time_formats(value, expected):
    assert ka.parse_time(value) == expected


@pytest.mark.parametrize("value", ["Apr 25 04:59:16", "Feb 30 2025 04:59:16", "Foo 25 2025 04:59:16", "12345",
                                   "99999999999999999", "2025-13-45T00:00:00", "yesterday", "", "Apr 25 2025 25:00:00",
                                   "Apr 25 2025 04:59:16 MSK"])
def test_times_that_do_not_parse_give_no_time_iso(value):
    assert ka.parse_time(value) is None


def test_time_is_kept_as_sent_when_it_does_not_parse():
    kata = ext([("rt", "sometime")])
    assert kata["time"] == "sometime"
    assert "time_iso" not in kata


# ------------------------------------------------------------------ TCP framing

def frame_all(chunks, max_bytes=65536):
    drops = []
    framer = ka.StreamFramer(max_bytes, drops.append)
    messages = []
    for chunk in chunks:
        messages.extend(framer.feed(chunk))
    last = framer.finish()
    if last is not None:
        messages.append(last)
    return messages, drops


def chunked(data, seed):
    """``data`` cut at random places (some single bytes, some empty reads)."""
    rng = random.Random(seed)
    chunks, start = [], 0
    while start < len(data):
        size = rng.choice([0, 1, 1, 2, 3, 7, 50, 500])
        chunks.append(data[start:start + size])
        start += size
    return chunks


MESSAGES = [alert_message(alert_id=str(index), host="WS-%d" % index) for index in range(5)]
MIXED_STREAM = (MESSAGES[0] + b"\n" + octet_frame(MESSAGES[1]) + octet_frame(MESSAGES[2]) + b"\r\n"
                + MESSAGES[3] + b"\r\n" + octet_frame(MESSAGES[4]))


def test_newline_framing():
    assert frame_all([b"\n".join(MESSAGES) + b"\n"]) == (MESSAGES, [])


def test_octet_counting_framing():
    assert frame_all([b"".join(octet_frame(message) for message in MESSAGES)]) == (MESSAGES, [])


@pytest.mark.parametrize("seed", range(25))
def test_both_framings_on_one_connection_in_arbitrary_chunks(seed):
    assert frame_all(chunked(MIXED_STREAM, seed)) == (MESSAGES, [])


def test_every_single_byte_split():
    assert frame_all([MIXED_STREAM[index:index + 1] for index in range(len(MIXED_STREAM))]) == (MESSAGES, [])


def test_a_last_message_without_newline_is_taken_at_the_end_of_the_stream():
    assert frame_all([MESSAGES[0]]) == ([MESSAGES[0]], [])


def test_an_incomplete_octet_counted_frame_at_the_end_is_dropped():
    assert frame_all([b"500 " + MESSAGES[0]]) == ([], ["truncated_frame"])


def test_an_oversized_octet_counted_frame_is_skipped_and_the_next_one_arrives():
    big = b"x" * 2000
    stream = octet_frame(big) + octet_frame(MESSAGES[0]) + MESSAGES[1] + b"\n"
    for seed in range(5):
        assert frame_all(chunked(stream, seed), max_bytes=1000) == ([MESSAGES[0], MESSAGES[1]], ["oversized"])


def test_a_line_that_never_ends_is_dropped_with_bounded_memory_and_the_stream_resyncs():
    drops = []
    framer = ka.StreamFramer(1000, drops.append)
    for _read in range(100):
        assert framer.feed(b"y" * 333) == []
        assert len(framer.buffer) <= 1000 + 333
    assert drops == ["line_too_long"]
    assert framer.feed(b"end of the long line\n" + MESSAGES[0] + b"\n") == [MESSAGES[0]]


def test_an_oversized_line_with_its_newline_in_one_read():
    assert frame_all([b"z" * 1500 + b"\n" + MESSAGES[0] + b"\n"], max_bytes=1000) == ([MESSAGES[0]], ["oversized"])


def test_digits_without_a_space_are_newline_framed():
    assert frame_all([b"12345678901234 not a length\n"]) == ([b"12345678901234 not a length"], [])
    assert frame_all([b"12abc\n"]) == ([b"12abc"], [])


# ------------------------------------------------------------------ arguments

def test_defaults():
    settings = ka.parse_args({})
    assert (settings.host, settings.port, settings.protocol, settings.heartbeats, settings.activity_log,
            settings.max_message_bytes, settings.allowed_senders, settings.max_connections, settings.batch_window,
            settings.batch_max_alerts, settings.client_auth) == (
        "0.0.0.0", 1514, "tcp", False, False, 65536, None, 256, 0, 1000, False)


def test_string_arguments_from_jinja():
    settings = ka.parse_args({"port": "6514", "heartbeats": "true", "activity_log": "no", "batch_window": "2.5",
                              "protocol": "UDP", "allowed_senders": "10.0.0.5, 10.1.0.0/16",
                              "max_message_bytes": "32768"})
    assert (settings.port, settings.heartbeats, settings.activity_log, settings.batch_window, settings.protocol,
            settings.max_message_bytes) == (6514, True, False, 2.5, "udp", 32768)
    assert [str(network) for network in settings.allowed_senders] == ["10.0.0.5/32", "10.1.0.0/16"]


@pytest.mark.parametrize("args, name", [
    ({"port": "15a"}, "port"),
    ({"port": 0}, "port"),
    ({"port": 70000}, "port"),
    ({"port": True}, "port"),
    ({"port": None}, "port"),
    ({"host": ""}, "host"),
    ({"host": 5}, "host"),
    ({"protocol": "sctp"}, "protocol"),
    ({"heartbeats": "maybe"}, "heartbeats"),
    ({"activity_log": 2}, "activity_log"),
    ({"max_message_bytes": 10}, "max_message_bytes"),
    ({"max_connections": "0"}, "max_connections"),
    ({"allowed_senders": ["10.0.0.300"]}, "allowed_senders"),
    ({"allowed_senders": []}, "allowed_senders"),
    ({"allowed_senders": {"a": 1}}, "allowed_senders"),
    ({"batch_window": -1}, "batch_window"),
    ({"batch_window": "soon"}, "batch_window"),
    ({"batch_window": "nan"}, "batch_window"),
    ({"batch_max_alerts": 0}, "batch_max_alerts"),
    ({"prot": "tcp"}, "prot"),
    ({"certfile": "/etc/hosts"}, "certfile"),
    ({"client_auth": True}, "client_auth"),
    ({"protocol": "tls"}, "certfile"),
    ({"protocol": "tls", "certfile": "/nonexistent/cert.pem"}, "certfile"),
    ({"protocol": "tls", "certfile": "/etc/hosts", "keyfile": "/nonexistent/key.pem"}, "keyfile"),
    ({"protocol": "tls", "certfile": "/etc/hosts", "client_auth": True}, "ca_certs"),
])
def test_bad_arguments_name_the_argument(args, name):
    with pytest.raises(ValueError) as error:
        ka.parse_args(args)
    assert "argument '%s'" % name in str(error.value)


def test_engine_arguments_are_accepted():
    ka.parse_args({"eda_feedback_queue": object()})


def test_a_file_that_is_not_a_certificate_names_the_argument(tmp_path):
    settings = ka.parse_args({"protocol": "tls", "certfile": "/etc/hosts"})
    with pytest.raises(ValueError, match="argument 'certfile'"):
        ka.tls_context(settings)


def test_a_bad_ca_bundle_names_ca_certs(pki_paths):
    settings = ka.parse_args({"protocol": "tls", "certfile": pki_paths["server"], "keyfile": pki_paths["server_key"],
                              "ca_certs": "/etc/hosts", "client_auth": True})
    with pytest.raises(ValueError, match="argument 'ca_certs'"):
        ka.tls_context(settings)


def test_main_ends_at_start_on_a_bad_argument():
    with pytest.raises(ValueError, match="argument 'protocol'"):
        asyncio.run(ka.main(asyncio.Queue(), {"protocol": "http"}))


@pytest.mark.parametrize("args, warned", [
    ({}, "tcp"),
    ({"protocol": "udp"}, "udp"),
    ({"protocol": "udp", "host": "10.0.0.1"}, "udp"),
    ({"host": "127.0.0.1"}, None),
    ({"host": "::1", "protocol": "udp"}, None),
    ({"host": "localhost"}, None),
    ({"allowed_senders": ["10.0.0.5"]}, None),
])
def test_exposure_warning(args, warned):
    warning = ka.exposure_warning(ka.parse_args(args))
    if warned is None:
        assert warning is None
    else:
        assert "beyond loopback without allowed_senders" in warning and "/%s" % warned in warning
        assert "client_auth" in warning


def test_udp_warning_says_addresses_are_forged():
    assert "trivially forged" in ka.exposure_warning(ka.parse_args({"protocol": "udp"}))


# ------------------------------------------------------------------ batches

def kata_of(host=None, ip=None, severity="High", hashes=()):
    kata = {"severity": severity, "hashes": list(hashes), "alert_type": "file_web"}
    if host:
        kata["host"] = host
    if ip:
        kata["source_ip"] = ip
    return kata


def test_a_batch_groups_alerts_by_host_then_by_ip():
    batch = ka.AlertBatch(2.0)
    alerts = [kata_of("WS-1", "10.0.0.1", "Low", [MD5]), kata_of("WS-2", severity="Medium", hashes=[SHA256]),
              kata_of("WS-1", "10.0.0.9", "High", [MD5, COMPOSITE_MD5]), kata_of(ip="10.0.0.3", severity="Low"),
              kata_of(severity="Severe")]
    for kata in alerts:
        batch.add(kata)
    assert batch.event() == {"kata_batch": {
        "hosts": [
            {"host": "WS-1", "source_ip": "10.0.0.1", "alerts": [alerts[0], alerts[2]], "hashes": [MD5, COMPOSITE_MD5],
             "max_severity": "High"},
            {"host": "WS-2", "alerts": [alerts[1]], "hashes": [SHA256], "max_severity": "Medium"},
            {"source_ip": "10.0.0.3", "alerts": [alerts[3]], "hashes": [], "max_severity": "Low"},
            {"alerts": [alerts[4]], "hashes": [], "max_severity": "Severe"},
        ],
        "alerts": 5, "hashes": [MD5, SHA256, COMPOSITE_MD5], "window": 2.0}}


# ------------------------------------------------------------------ drop warnings

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_drops_are_counted_and_warned_about_at_most_once_per_reason_per_interval(caplog):
    clock = Clock()
    counter = ka.DropCounter(interval=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger=ka.LOG.name):
        for _drop in range(50):
            counter.drop("not_cef", "junk")
        counter.drop("oversized")
        counter.drop("heartbeat")
        clock.now += 5
        counter.report()
        clock.now += 5
        counter.report()
        counter.report()
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        "kata_alerts: not_cef: 1 in the last 10 s (1 since start); last: 'junk'",
        "kata_alerts: oversized: 1 in the last 10 s (1 since start)",
        "kata_alerts: not_cef: 49 in the last 10 s (50 since start); last: 'junk'",
    ]
    assert counter.totals == {"not_cef": 50, "oversized": 1, "heartbeat": 1}


# ------------------------------------------------------------------ the source's choices per message

def source_with(**args):
    source = ka.KataAlertsSource(asyncio.Queue(), ka.parse_args(args))
    source.inbox = asyncio.Queue(10)
    return source


def inbox(source):
    items = []
    while not source.inbox.empty():
        items.append(source.inbox.get_nowait())
    return items


def test_heartbeats_and_activity_records_follow_the_arguments():
    quiet = source_with()
    for message in (heartbeat_message(), activity_message(), alert_message()):
        quiet.accept(message, "10.0.0.1")
    assert [kind for kind, _kata in inbox(quiet)] == [ka.ALERT]
    assert quiet.drops.totals == {"heartbeat": 1, "activity_record": 1}
    loud = source_with(heartbeats=True, activity_log=True)
    for message in (heartbeat_message(), activity_message(), alert_message()):
        loud.accept(message, "10.0.0.1")
    assert [kind for kind, _kata in inbox(loud)] == [ka.HEARTBEAT, ka.ACTIVITY, ka.ALERT]


def test_allowed_senders_match_addresses_and_networks():
    source = source_with(allowed_senders=["10.0.0.5", "192.168.0.0/16", "2001:db8::/32"])
    assert [source.allowed(ip) for ip in ("10.0.0.5", "10.0.0.6", "192.168.7.7", "2001:db8::1", "::1", "", "junk")] \
        == [True, False, True, True, False, False, False]
    assert ka.sender_address(("::ffff:10.0.0.5", 1, 0, 0)) == "10.0.0.5"
    assert ka.sender_address(("fe80::1%eth0", 1, 0, 2)) == "fe80::1"


def test_a_full_inbox_drops_datagrams_and_counts_them():
    source = source_with(protocol="udp")
    for index in range(12):
        source.receive_datagram(alert_message(alert_id=str(index)), "10.0.0.1")
    assert len(inbox(source)) == 10
    assert source.drops.totals == {"queue_full": 2}


def test_a_port_in_use_names_host_and_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match="cannot listen on 127.0.0.1:%d/tcp .arguments 'host' and 'port'." % port):
            asyncio.run(ka.main(asyncio.Queue(), {"host": "127.0.0.1", "port": port}))


def test_documentation_is_yaml_and_lists_every_argument_with_its_default():
    options = yaml.safe_load(ka.DOCUMENTATION)["options"]
    assert sorted(options) == sorted(ka.ARGUMENTS)
    defaults = ka.parse_args({})
    for name, spec in options.items():
        if "default" in spec:
            assert spec["default"] == getattr(defaults, name), name
    assert isinstance(yaml.safe_load(ka.EXAMPLES), list)
