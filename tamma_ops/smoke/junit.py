"""The JUnit XML report of a smoke run: one test case per service and per probe."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tamma_ops.smoke.probes import ProbeResult
    from tamma_ops.smoke.watcher import ServiceState


def render(
    project: str,
    failure: str | None,
    failed_service: str | None,
    states: Mapping[str, ServiceState],
    probes: Sequence[ProbeResult],
    *,
    seconds: float,
) -> str:
    suite = ET.Element("testsuite", name=f"tamma-ops smoke ({project})")
    failures = 0
    for state in states.values():
        case = ET.SubElement(
            suite,
            "testcase",
            classname="smoke.services",
            name=state.service,
            time=f"{state.ready_after or 0.0:.3f}",
        )
        if state.service == failed_service or not state.ready:
            failures += 1
            reason = (
                failure
                if failure and state.service == failed_service
                else f"not ready when the run ended ({state.status})"
            )
            ET.SubElement(case, "failure", message=reason).text = reason
    for probe in probes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="smoke.probes",
            name=probe.probe.name,
            time=f"{probe.seconds:.3f}",
        )
        if not probe.passed:
            failures += 1
            message = f"GET {probe.url}: {probe.problem}"
            ET.SubElement(case, "failure", message=message).text = message
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("time", f"{seconds:.3f}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
