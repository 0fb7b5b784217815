"""Which image may start when: gates from shared stages, and the scheduler that honours them."""

from __future__ import annotations

import threading

from tamma_ops.build.context import image_contexts
from tamma_ops.build.schedule import Gate, Scheduler, plan_gates
from tests.unit.build.support import EXAMPLE, example_plan

RUNTIME = "FROM base AS runtime\nRUN useradd app\nWORKDIR /app\n"


def take(schedule: Scheduler) -> str:
    image = schedule.next()
    assert image is not None
    return image.name


def gates_of(dockerfiles: dict[str, str]):
    plan = example_plan(*dockerfiles)
    return plan_gates(plan.images, dockerfiles)


def test_the_example():
    plan = example_plan()
    dockerfiles = {
        context.image: context.dockerfile for context in image_contexts(plan.images, EXAMPLE)
    }
    assert plan_gates(plan.images, dockerfiles) == {
        "tamma-api": (),
        # The second target of docker/Dockerfile.ts waits for the first: it shares its stages.
        "tamma-engine": (Gate("tamma-api", None),),
        "tamma-dashboard": (),
        # Its runtime stage opens like tamma-api's (steps 8 to 11 there): it waits for those.
        "tamma-elsa": (Gate("tamma-api", 11),),
        "tamma-api-dotnet": (Gate("tamma-api", 11), Gate("tamma-elsa", 11)),
    }


def test_unrelated_dockerfiles_never_wait():
    gates = gates_of(
        {
            "tamma-dashboard": "FROM nginx\nCOPY a /\n",
            "tamma-elsa": "FROM dotnet\nCOPY a /\n",
        }
    )
    assert gates == {"tamma-dashboard": (), "tamma-elsa": ()}


def test_the_wait_covers_the_common_steps_only():
    gates = gates_of(
        {
            "tamma-dashboard": f"ARG X=1\nFROM other\nRUN a\n{RUNTIME}COPY web /app\n",
            "tamma-elsa": f"{RUNTIME}COPY elsa /app\n",
        }
    )
    # ARG is step 1, FROM other 2, RUN a 3, FROM base 4, then two shared steps: 5 and 6.
    assert gates["tamma-elsa"] == (Gate("tamma-dashboard", 6),)


def test_a_stage_built_on_a_stage_is_not_an_opening():
    gates = gates_of(
        {
            "tamma-dashboard": "FROM x AS one\nRUN a\nFROM one\nRUN b\n",
            "tamma-elsa": "FROM one\nRUN b\n",
        }
    )
    assert gates["tamma-elsa"] == ()


def test_stages_after_the_target_are_not_built_so_not_shared():
    plan = example_plan("tamma-api", "tamma-dashboard")
    dockerfiles = {
        "tamma-api": "FROM a AS tamma-api\nRUN x\nFROM base AS later\nRUN shared\n",
        "tamma-dashboard": "FROM base\nRUN shared\n",
    }
    assert plan_gates(plan.images, dockerfiles)["tamma-dashboard"] == ()


def test_the_scheduler_hands_out_ready_images_in_plan_order():
    plan = example_plan("tamma-api", "tamma-engine", "tamma-dashboard")
    gates = {"tamma-engine": (Gate("tamma-api", None),)}
    schedule = Scheduler(plan.images, gates)
    assert (take(schedule), take(schedule)) == ("tamma-api", "tamma-dashboard")
    handed: list[str] = []
    waiter = threading.Thread(target=lambda: handed.append(take(schedule)))
    waiter.start()
    waiter.join(timeout=0.1)
    assert waiter.is_alive()  # tamma-engine waits for tamma-api
    schedule.finished("tamma-api")
    waiter.join(timeout=5)
    assert handed == ["tamma-engine"]
    assert schedule.next() is None


def test_a_step_gate_opens_when_the_next_step_starts():
    plan = example_plan("tamma-api", "tamma-elsa")
    schedule = Scheduler(plan.images, {"tamma-elsa": (Gate("tamma-api", 3),)})
    assert take(schedule) == "tamma-api"
    schedule.started_step("tamma-api", 3)
    handed: list[str] = []
    waiter = threading.Thread(target=lambda: handed.append(take(schedule)))
    waiter.start()
    waiter.join(timeout=0.1)
    assert waiter.is_alive()  # step 3 has started, not finished
    schedule.started_step("tamma-api", 4)
    waiter.join(timeout=5)
    assert handed == ["tamma-elsa"]


def test_stop_releases_every_waiting_worker():
    plan = example_plan("tamma-api", "tamma-engine")
    schedule = Scheduler(plan.images, {"tamma-engine": (Gate("tamma-api", None),)})
    schedule.next()
    results: list[object] = []
    waiter = threading.Thread(target=lambda: results.append(schedule.next()))
    waiter.start()
    schedule.stop()
    waiter.join(timeout=5)
    assert results == [None]
