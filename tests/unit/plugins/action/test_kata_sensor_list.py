# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kaspersky.edr.kata_sensor_list action plugin's connection options (plugins/action/kata_sensor_list.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest


def test_sensor_list_connection_from_options_then_environment(tmp_path):
    from ansible_collections.kaspersky.edr.plugins.action.kata_sensor_list import connection
    from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ConfigurationError

    cert = tmp_path / "client.pem"
    cert.write_text("x")
    environ = {"KATA_HOST": "cn.example", "KATA_PORT": "8443", "KATA_EXTERNAL_SYSTEM_ID": "id",
               "KATA_CLIENT_CERT": str(cert), "KATA_VALIDATE_CERTS": "false"}
    options = connection({"kata_host": "other.example", "client_key": ""}, environ)
    assert options == {"kata_host": "other.example", "kata_port": 8443, "external_system_id": "id",
                       "client_cert": str(cert), "validate_certs": False, "request_timeout": 30.0, "retries": 3}
    with pytest.raises(ConfigurationError, match="kata_port"):
        connection({"kata_port": "many"}, environ)
    with pytest.raises(ConfigurationError, match="does not take sensor_id"):
        connection({"sensor_id": "x"}, environ)
    # The modules' checks (connection_options), not a copy of them.
    with pytest.raises(ConfigurationError, match=r"kata_port must be 1\.\.65535"):
        connection({"kata_port": 70000}, environ)
    with pytest.raises(ConfigurationError, match=r"retries must be 0\.\.10"):
        connection({"retries": 11}, environ)
