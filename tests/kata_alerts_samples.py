# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kata_alerts event source, loaded from its file, and sample KATA syslog messages for its tests.

ansible-rulebook runs the plugin file with runpy (it is not in a package), so the tests load the
same file by path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIR = os.path.join(REPO_ROOT, "extensions", "eda", "plugins", "event_source")
PLUGIN_PATH = os.path.join(SOURCE_DIR, "kata_alerts.py")


def load_plugin():
    spec = importlib.util.spec_from_file_location("kaspersky_edr_kata_alerts", PLUGIN_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kata_alerts = load_plugin()

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
COMPOSITE_MD5 = "e99a18c428cb38d5f260853678922e03"
VENDOR = "AO Kaspersky Lab"
PRODUCT = "Kaspersky Anti Targeted Attack Platform"

# A file_web alert with the keys of the KATA 5.0 documentation (fact sheet 2.2), in documented order.
FILE_WEB_KEYS = [
    ("dvchost", "kata-cn.corp.example"),
    ("eventId", "8f14e45f"),
    ("rt", "1733335200123"),
    ("dst", "10.0.0.7"),
    ("dpt", "80"),
    ("src", "203.0.113.9"),
    ("spt", "49152"),
    ("shost", "WS-001.corp.example"),
    ("suser", "CORP\\\\alice"),
    ("fName", "invoice 2026.exe"),
    ("fsize", "73802"),
    ("fileType", "PE32 executable"),
    ("fileHash", MD5.upper()),
    ("KasperskyLabKATAcompositeFilePath", "invoice.zip"),
    ("KasperskyLabKATAcompositeFileSize", "40960"),
    ("KasperskyLabKATAcompositeFileHash", COMPOSITE_MD5),
    ("KasperskyLabKATAfileSHA256", SHA256),
    ("cs1", "HEUR:Trojan.Win32.Generic"),
    ("cs2", "Sandbox"),
    ("cs3", "13.0.0.1"),
    ("cs3Label", "Win10_x64"),
    ("app", "HTTP"),
    ("requestMethod", "GET"),
    ("requestClientApplication", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
    ("request", "http://downloads.example.net/files/invoice.zip?id\\=7"),
    ("requestContext", "http://mail.example.net/"),
]


def cef(class_id="file_web", name="File from web detected", severity="High", keys=None, vendor=VENDOR,
        product=PRODUCT, version="5.0.0-200"):
    """A CEF line (text) with ``keys`` (a list of (key, escaped value)) as its extension."""
    keys = FILE_WEB_KEYS if keys is None else keys
    extension = " ".join("%s=%s" % pair for pair in keys)
    return "CEF:0|%s|%s|%s|%s|%s|%s|%s" % (vendor, product, version, class_id, name, severity, extension)


def rfc5424(body, hostname="kata-cn.corp.example", pri=134):
    return "<%d>1 2026-12-04T18:00:00.000Z %s KATA - - - %s" % (pri, hostname, body)


def rfc3164(body, hostname="kata-cn", pri=134):
    return "<%d>Dec  4 18:00:00 %s KATA: %s" % (pri, hostname, body)


def alert_message(host="WS-001.corp.example", severity="High", digest=MD5, alert_id="1", header=rfc5424):
    """A short file_web alert (bytes) for ``host`` with one hash."""
    keys = [("dvchost", "kata-cn"), ("eventId", alert_id), ("rt", "1733335200123"), ("src", "10.0.0.7"),
            ("shost", host), ("fName", "a.exe"), ("fileHash", digest)]
    return header(cef(severity=severity, keys=keys)).encode("utf-8")


def heartbeat_message():
    return rfc5424(cef(class_id="heartbeat", name="Heartbeat", severity="0", keys=[("dvchost", "kata-cn")])).encode()


def activity_message(class_id="alerts"):
    keys = [("dvchost", "kata-cn"), ("eventId", "77"), ("rt", "Apr 25 2025 04:59:16"), ("src", "10.0.0.50"),
            ("suser", "admin"), ("cs1", "Alert assigned"), ("cs1label", "analyst"), ("externalId", "1234")]
    return rfc5424(cef(class_id=class_id, name="Managing alerts", severity="Low", keys=keys)).encode()


def octet_frame(message):
    return b"%d %s" % (len(message), message)
