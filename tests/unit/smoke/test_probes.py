from __future__ import annotations

import httpx

from tamma_ops.manifest import Probe
from tamma_ops.smoke.probes import RETRY_PAUSE, run_probe


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def client_answering(*answers: httpx.Response | Exception) -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def probe(**fields) -> Probe:
    return Probe(service="web", port=8080, **fields)


def test_a_probe_passes_on_the_expected_status_and_body():
    client, seen = client_answering(httpx.Response(200, text='{"status": "ok"}'))
    clock = FakeClock()
    result = run_probe(
        client,
        probe(body='"ok"', body_regex=r"status.*ok"),
        "http://x/",
        deadline=10,
        clock=clock,
        sleep=clock.sleep,
    )
    assert result.passed
    assert seen == ["http://x/"]
    assert result.attempts[0].to_json()["response"]["status"] == 200


def test_a_probe_retries_connection_errors_and_5xx_until_it_passes():
    client, seen = client_answering(
        httpx.ConnectError("refused"), httpx.Response(502), httpx.Response(200)
    )
    clock = FakeClock()
    result = run_probe(client, probe(), "http://x/", deadline=10, clock=clock, sleep=clock.sleep)
    assert result.passed
    assert len(seen) == 3
    assert result.attempts[0].error == "ConnectError: refused"
    assert clock.now == 2 * RETRY_PAUSE


def test_a_wrong_body_fails_when_the_deadline_comes_keeping_every_attempt():
    client, seen = client_answering(httpx.Response(200, text="hello"))
    clock = FakeClock()
    result = run_probe(
        client, probe(body="goodbye"), "http://x/", deadline=3, clock=clock, sleep=clock.sleep
    )
    assert not result.passed
    assert result.problem == "body does not contain 'goodbye'"
    assert len(result.attempts) == len(seen) >= 2
    assert clock.now < 3


def test_a_wrong_status_and_a_regex_miss_are_named():
    clock = FakeClock()
    client, _ = client_answering(httpx.Response(404))
    result = run_probe(client, probe(), "http://x/", deadline=0, clock=clock, sleep=clock.sleep)
    assert result.problem == "answered 404, expected 200"
    client, _ = client_answering(httpx.Response(200, text="nope"))
    result = run_probe(
        client, probe(body_regex="^ok$"), "http://x/", deadline=0, clock=clock, sleep=clock.sleep
    )
    assert result.problem == "body does not match /^ok$/"


def test_a_probe_stops_retrying_when_the_run_has_failed_anyway():
    client, seen = client_answering(httpx.Response(503))
    clock = FakeClock()
    result = run_probe(
        client,
        probe(),
        "http://x/",
        deadline=100,
        should_stop=lambda: True,
        clock=clock,
        sleep=clock.sleep,
    )
    assert not result.passed
    assert len(seen) == 1
