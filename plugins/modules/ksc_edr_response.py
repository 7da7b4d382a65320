#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ksc_edr_response
short_description: Queue a KES EDR response on a host through Kaspersky Security Center
version_added: "1.0.0"
description:
  - Creates an EDR response (get, delete or quarantine a file, IOC scan, start or terminate a process,
    network isolation, execution prevention, malware scan) for Kaspersky Endpoint Security for Windows 12.9+
    through the Kaspersky Security Center (KSC 14.2+, KSC for Linux 15.2+) OpenAPI.
  - As the vendor documents it, the response is an incident created with C(HostGroup.AddIncident) whose
    C(KLINCDT_BODY) is the JSON text of an object with exactly C(targetHost), C(task), C(params),
    C(responseEventIncident) (true) and C(responseEventIncidentArea), then marked not handled with
    C(HostGroup.UpdateIncident). KSC turns it into a task named
    C([Response][<incident_area>] <task> - <date> <time> - <ID>).
  - KSC needs the background connection between the Administration Server and the Web Console for that.
  - Idempotent - when the host already has a pending (not handled) incident with the same O(task) and
    O(params), nothing is created and its ID is returned. Use O(force) to queue the response again.
  - The module speaks the KSC OpenAPI wire protocol with C(requests); the vendor's KlAkOAPI package is not needed.
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.ksc]
options:
  target_host:
    description:
      - KSC host ID of the target computer (C(KLHST_WKS_HOSTNAME), the GUID-like name KSC gives the host).
      - Checked with C(HostGroup.FindHosts) before anything is created.
      - Exactly one of O(target_host) and O(target_hostname) is required.
    type: str
  target_hostname:
    description:
      - Display name (C(KLHST_WKS_DN)), DNS name (C(KLHST_WKS_DNSNAME)) or fully qualified DNS name
        (C(KLHST_WKS_DNSNAME) plus C(KLHST_WKS_DNSDOMAIN)) of the target computer.
      - Resolved with C(HostGroup.FindHosts) and C(ChunkAccessor); the value is matched literally
        (wildcards and quotes are escaped). Zero or several matches fail and list the candidates.
    type: str
  task:
    description:
      - The response type.
    type: str
    required: true
    choices: [getFile, deleteFile, quarantineFile, iocScan, startProcess, terminateProcess, isolateHost, preventExecution, onDemandScan]
  params:
    description:
      - Task settings with the API's camelCase keys, validated as the KSC EDR documentation lists them.
        Unknown keys are rejected.
      - V(getFile), V(quarantineFile) - C(md5hash) (empty or 32 hex digits), C(sha256hash) (empty or 64 hex digits),
        C(path); at least one of them non-empty.
      - V(deleteFile) - as V(getFile) plus optional boolean C(searchInSubfolders).
      - V(terminateProcess) - as V(getFile) plus boolean C(caseSensitive).
      - V(iocScan) - C(ioc) (ZIP archive of IOC files in base64, or use O(ioc_file)), booleans C(isolateHost),
        C(scanCriticalAreas), C(quarantineObject).
      - V(startProcess) - C(executablePath), optional C(arguments) and C(workingFolder).
      - V(isolateHost) - C(action), V(1) to isolate the host, V(0) to end the isolation.
      - V(preventExecution) - C(hash) (MD5, 32 hex digits), C(path), boolean C(caseSensitive).
      - V(onDemandScan) - a list of scan areas, each with booleans C(enabled) and C(recursive), C(path) (files and
        folders to scan, space-delimited; may be empty except for C(type=22)) and C(type), one of 14 (SystemMemory),
        15 (StartupObjectsAndRunningProcesses), 16 (DiskBootSectors), 17 (SystemBackupStorage), 18 (Email),
        22 (Folder), 23 (AllRemovableDrives), 24 (AllNetworkDrives), 25 (AllFixedDrives).
    type: raw
  ioc_file:
    description:
      - Path (on the controller) to a ZIP archive of IOC files for O(task=iocScan); it is base64-encoded into
        C(params.ioc). Mutually exclusive with C(params.ioc).
    type: path
  incident_area:
    description:
      - C(responseEventIncidentArea), the name of the system that asked for the response; KSC puts it into
        the task name C([Response][<incident_area>] ...).
    type: str
    default: Ansible
  severity:
    description:
      - C(KLINCDT_SEVERITY) of the incident. The vendor's sample uses V(2).
    type: int
    default: 2
  force:
    description:
      - Create the incident even when the host already has a pending incident with the same task and params.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Logs in, resolves the host and looks for a pending incident, but creates nothing.
  diff_mode:
    support: full
    details: Shows the incident body that is (or would be) queued.
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
- name: Quarantine a file by hash on a host found by its name
  kaspersky.edr.ksc_edr_response:
    ksc_host: ksc.example.com
    ksc_username: svc-ansible-edr
    ksc_password: "{{ vault_ksc_password }}"
    ca_path: /etc/ansible/ksc/klserver.pem
    target_hostname: WS-001
    task: quarantineFile
    params:
      md5hash: ""
      sha256hash: 2b8a1e6c4f0d9b7a3e5c1f2d4b6a8c0e9f7d5b3a1c2e4f6a8b0d2c4e6f8a0b2c
      path: C:\Users\Public\invoice.exe
  delegate_to: localhost
  register: quarantine

- name: Isolate a host by its KSC host ID (connection options from KSC_* environment variables)
  kaspersky.edr.ksc_edr_response:
    target_host: 5f3c0a9e-1b2d-4c6e-8f70-000000000001
    task: isolateHost
    params:
      action: 1
    incident_area: SOAR
  delegate_to: localhost

- name: Scan memory and the Downloads folder
  kaspersky.edr.ksc_edr_response:
    target_hostname: ws-002.corp.example
    task: onDemandScan
    params:
      - enabled: true
        path: ""
        recursive: false
        type: 14
      - enabled: true
        path: C:\Users\Public\Downloads
        recursive: true
        type: 22
  delegate_to: localhost

- name: IOC scan with an archive from the controller
  kaspersky.edr.ksc_edr_response:
    target_hostname: WS-003
    task: iocScan
    ioc_file: files/ioc.zip
    params:
      isolateHost: false
      scanCriticalAreas: true
      quarantineObject: true
  delegate_to: localhost
"""

RETURN = r"""
incident_id:
  description:
    - ID of the incident that queues the response (C(KLINCDT_ID)); the new one, or the pending one found.
    - Null in check mode when an incident would be created.
  returned: always
  type: int
  sample: 1042
body:
  description:
    - The incident body (C(KLINCDT_BODY) parsed); the one created, the one that would be created in check mode,
      or the pending one found.
  returned: always
  type: dict
  sample:
    targetHost: 5f3c0a9e-1b2d-4c6e-8f70-000000000001
    task: isolateHost
    params:
      action: 1
    responseEventIncident: true
    responseEventIncidentArea: Ansible
task_name_hint:
  description: How the name of the task KSC creates for the response begins; KSC appends date, time and an ID.
  returned: always
  type: str
  sample: "[Response][Ansible] isolateHost - ..."
target_host:
  description: KSC host ID (C(KLHST_WKS_HOSTNAME)) the response targets.
  returned: always
  type: str
  sample: 5f3c0a9e-1b2d-4c6e-8f70-000000000001
host:
  description: Attributes of the target host as C(HostGroup.FindHosts) returns them.
  returned: always
  type: dict
  sample:
    KLHST_WKS_HOSTNAME: 5f3c0a9e-1b2d-4c6e-8f70-000000000001
    KLHST_WKS_DN: WS-001
    KLHST_WKS_DNSNAME: ws-001
    KLHST_WKS_DNSDOMAIN: corp.example
    KLHST_WKS_GROUPID: 2
    KLHST_WKS_OS_NAME: Microsoft Windows 11 Enterprise
pending:
  description: True when a pending incident with the same task and params already existed and was returned.
  returned: always
  type: bool
  sample: false
marked_not_handled:
  description:
    - True when the pending incident found was marked not handled again (C(HostGroup.UpdateIncident) with
      C(KLINCDT_IS_HANDLED=false)), which finishes what a run that died after AddIncident left undone. Not a
      change. Never in check mode.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_incident_body import (
    TASKS,
    Response,
    ParamsError,
    read_ioc_file,
    validate_params,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_incidents import IncidentResource
from ansible_collections.kaspersky.edr.plugins.module_utils import connection_options, module_glue
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import run_single


def argument_spec():
    return module_glue.module_spec(
        connection_options.ksc_connection_spec(),
        target_host=dict(type="str"),
        target_hostname=dict(type="str"),
        task=dict(type="str", required=True, choices=list(TASKS)),
        params=dict(type="raw"),
        ioc_file=dict(type="path"),
        incident_area=dict(type="str", default="Ansible"),
        severity=dict(type="int", default=2),
        force=dict(type="bool", default=False),
    )


def validate_input(module):
    """Everything about the module's own options, before the first request; the task's params."""
    params = module.params
    for option in ("target_host", "target_hostname"):
        if params[option] is not None and not params[option].strip():
            module.fail_json(msg="%s must not be empty" % option)
    if params["target_host"] is None and params["target_hostname"] is None:
        # required_one_of counts an option given as null (target_hostname: "{{ omit_me | default(None) }}").
        module.fail_json(msg="one of the following is required: target_host, target_hostname (given as null)")
    area = params["incident_area"]
    if not area or not area.strip() or any(char in "[]" or not char.isprintable() for char in area):
        module.fail_json(msg="incident_area must be a non-empty name without '[', ']', line breaks or other control "
                         "characters (it becomes part of the KSC task name [Response][<incident_area>] ...), got %r"
                         % area)
    if params["severity"] < 0:
        module.fail_json(msg="severity must be 0 or more (KLINCDT_SEVERITY; the vendor's sample uses 2), got %s"
                         % params["severity"])
    try:
        if params["ioc_file"] is not None and params["task"] != "iocScan":
            raise ParamsError("ioc_file is only used by task iocScan, not %s" % params["task"])
        ioc = read_ioc_file(params["ioc_file"]) if params["ioc_file"] is not None else None
        return validate_params(params["task"], params["params"], ioc=ioc)
    except ParamsError as exc:
        module.fail_json(msg=str(exc))


def main():
    module = module_glue.new_module(argument_spec(), mutually_exclusive=[("target_host", "target_hostname")],
                                    required_one_of=[("target_host", "target_hostname")])
    params = module.params
    task_params = validate_input(module)
    response = Response(params["task"], task_params, params["incident_area"], params["severity"])
    with module_glue.ksc_client(module) as client:
        resource = IncidentResource(client, response, force=params["force"], diff=module._diff)
        result = run_single(module, resource, resource.resolver(params["target_host"], params["target_hostname"]),
                            resource.base_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
