"""The load client: Locust as a library, one scenario, what it counted written as JSON.

    python -m bench.load.driver CONFIG.json RESULT.json

Run by bench/load/runner.py in a process of its own (Locust patches the
standard library for gevent). Traffic goes only to the configured host, which
the runner makes 127.0.0.1; every loop is bounded by a duration or a count,
and the runner kills this process if it outlives its time.

Scenarios (CONFIG["scenario"]):

- contest-day: ``users`` simulated members, each taking the round as one
  member after another (bench/load/locustfile.py), for ``duration`` seconds;
- baseline: ``users`` clients calling the baseline app's insert for ``duration`` seconds;
- sync-start: for each N in ``steps``, N members logged in beforehand (outside
  the clock) each open the round's page, press Start and get the attempt's
  page, at a random moment of the same ``window`` seconds; the attempts
  started are then submitted, so the next step starts afresh. Stops after
  the first step where a start fails or the p99 from opening the round's page
  to the attempt's page is over ``give_ms``;
- answer-save: ``users`` members logged in, each with an attempt started, before the clock; for
  ``duration`` seconds each saves as quiz.js does with no pause (21 saves), submits and starts the next
  attempt through the API, again and again;
- multi-host: ``users`` members, each taking ``attempts`` attempts the same way, every request going to the
  next of ``hosts``; returns what the servers acknowledged (the ledger) for the database check.
"""

import contextlib
import json
import random
import resource
import sys
import time

import gevent
import gevent.pool
from locust.env import Environment

from bench.load import locustfile
from bench.load.locustfile import FlowFailed, Member, use_address
from bench.load.results import Collector, percentiles


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_users(config, user_class, label):
    collector = Collector()
    env = Environment(user_classes=[user_class], host=config["host"])
    env.events.request.add_listener(collector.on_request)
    runner = env.create_local_runner()
    cpu = cpu_seconds()
    collector.start()
    runner.start(config["users"], spawn_rate=config.get("spawn_rate", config["users"]))
    gevent.sleep(config["duration"])
    collector.stop()
    cpu = cpu_seconds() - cpu
    counters = dict(locustfile.COUNTERS)
    runner.quit()
    return [collector.phase(label, users=config["users"], client_cpu=cpu, counters=counters)]


def contest_day(config):
    locustfile.CONFIG.update(config)
    return _run_users(config, locustfile.ContestMember, "contest-day")


def baseline(config):
    return _run_users(config, locustfile.BaselineClient, "baseline")


def _each(concurrency, fn, items):
    """fn(item) for every item, at most ``concurrency`` at once; the results in order."""
    return gevent.pool.Pool(concurrency).map(fn, items)


def sync_start(config):
    cfg = dict(locustfile.CONFIG, **config)
    env = Environment(user_classes=[], host=cfg["host"])
    collector = Collector()
    env.events.request.add_listener(collector.on_request)
    rng = random.Random(cfg.get("seed", 1))
    numbers = iter(range(cfg["first_member"], cfg["first_member"] + cfg["members"]))
    ready = []  # logged in, on the round's page
    phases = []

    def prepare(member):
        use_address(member.index, cfg)
        try:
            member.login()
            member.home()
            return True
        except FlowFailed:
            member.close()
            return False

    for n in cfg["steps"]:
        # Before the clock: enough members logged in (on the home page).
        new = []
        for _ in range(max(0, n - len(ready))):
            index = next(numbers, None)
            if index is not None:
                new.append(Member(env, cfg["host"], index, cfg, rng))
        cpu = cpu_seconds()
        collector.start()
        ok = _each(cfg["login_concurrency"], prepare, new)
        collector.stop()
        ready.extend(m for m, good in zip(new, ok) if good)
        phases.append(collector.phase(f"sync-start {n}: log in {len(new)} more", kind="prepare", step=n,
                                      client_cpu=cpu_seconds() - cpu))
        members = ready[:n]

        # The clock: within the same window everybody opens the round's page (now with its Start button),
        # presses Start and gets the attempt's page.
        window = cfg["window"]
        t0 = time.monotonic() + 1.0
        offsets = [rng.uniform(0, window) for _ in members]

        def press_start(member, offset, t0=t0):
            use_address(member.index, cfg)
            gevent.sleep(max(0.0, t0 + offset - time.monotonic()))
            began = time.monotonic()
            try:
                member.round_page()
                member.start()
                to_page = (time.monotonic() - began) * 1000
                member.sync()
            except FlowFailed as exc:
                return False, (time.monotonic() - began) * 1000, time.monotonic() - t0, str(exc)
            return True, to_page, time.monotonic() - t0, None

        cpu = cpu_seconds()
        collector.start()
        greenlets = [gevent.spawn(press_start, m, o) for m, o in zip(members, offsets)]
        gevent.joinall(greenlets, timeout=1.0 + window + cfg["network_timeout"] + 10)
        collector.stop()
        unfinished = sum(1 for g in greenlets if not g.ready())
        gevent.killall([g for g in greenlets if not g.ready()], block=True, timeout=5)
        outcomes = [g.value for g in greenlets if g.ready() and g.value is not None]
        started = [m for m, g in zip(members, greenlets) if g.ready() and g.value and g.value[0]]
        to_page = sorted(o[1] for o in outcomes if o[0])
        phase = collector.phase(
            f"sync-start {n}", kind="clock", step=n, members=len(members), window=window,
            started=len(started), failed=len(members) - len(started), unfinished=unfinished,
            start_to_page_ms=list(percentiles(to_page)) + [max(to_page) if to_page else 0.0],
            last_done_s=max((o[2] for o in outcomes), default=0.0), client_cpu=cpu_seconds() - cpu,
            failures=sorted({o[3] for o in outcomes if not o[0]})[:10])
        phases.append(phase)

        # After the clock: submit what was started (real requests, counted apart).
        def submit(member):
            use_address(member.index, cfg)
            try:
                member.submit()
            except FlowFailed:
                pass

        collector.start()
        _each(cfg["login_concurrency"], submit, started)
        collector.stop()
        phases.append(collector.phase(f"sync-start {n}: submit {len(started)}", kind="submit", step=n))
        if phase["failed"] or phase["start_to_page_ms"][2] > cfg["give_ms"]:
            phase["gave"] = True
            break
        if n > len(ready):
            phase["gave"] = "members"
            break
    for member in ready:
        member.close()
    return phases


def _ready(member, cfg):
    """Before the clock: logged in, the round's page, Start, the attempt's page and quiz.js's first look."""
    use_address(member.index, cfg)
    try:
        member.login()
        member.round_page()
        member.start()
        member.sync()
        return True
    except FlowFailed:
        return False


def answer_save(config):
    cfg = dict(locustfile.CONFIG, **config)
    env = Environment(user_classes=[], host=cfg["host"])
    collector = Collector()
    env.events.request.add_listener(collector.on_request)
    seed = cfg.get("seed", 1)
    members = [Member(env, cfg["host"], i, cfg, random.Random(seed * 1_000_003 + i))
               for i in range(cfg["first_member"], cfg["first_member"] + cfg["users"])]
    cpu = cpu_seconds()
    collector.start()
    ok = _each(cfg["login_concurrency"], lambda m: _ready(m, cfg), members)
    collector.stop()
    phases = [collector.phase("answer-save: log in and start (before the window)", kind="prepare",
                              members=len(members), ready=sum(ok), client_cpu=cpu_seconds() - cpu)]
    ready = [m for m, good in zip(members, ok) if good]
    counters = {"members": len(ready), "completed": 0, "failed_flows": 0}

    def work(member):
        use_address(member.index, cfg)
        while collector.active:
            try:
                member.answer_attempt(member.rng)
                if collector.active:
                    counters["completed"] += 1
                member.start_api()
            except FlowFailed:
                # Counted already. quiz.js would show the result or retry; the member then starts again (or
                # takes back the attempt still in progress), after a pause so that a refusal cannot spin.
                counters["failed_flows"] += 1
                gevent.sleep(0.5)
                with contextlib.suppress(FlowFailed):
                    member.start_api(expect=(200, 201))

    cpu = cpu_seconds()
    collector.start()
    greenlets = [gevent.spawn(work, m) for m in ready]
    gevent.sleep(cfg["duration"])
    collector.stop()
    cpu = cpu_seconds() - cpu
    gevent.killall(greenlets, block=True, timeout=10)
    for member in members:
        member.close()
    phases.append(collector.phase("answer-save", kind="window", users=len(ready), client_cpu=cpu,
                                  counters=counters))
    return phases


def multi_host(config):
    """Each member: log in, Start, then ``attempts`` attempts of 21 saves and a submit, every request to the next
    of ``hosts``; what the servers acknowledged is returned as each member's ledger."""
    cfg = dict(locustfile.CONFIG, **config)
    hosts = cfg["hosts"]
    env = Environment(user_classes=[], host=hosts[0])
    collector = Collector()
    env.events.request.add_listener(collector.on_request)
    members = []
    for i in range(cfg["first_member"], cfg["first_member"] + cfg["users"]):
        member = Member(env, hosts[0], i, cfg)
        member.hosts, member.ledger = hosts, []
        members.append(member)

    def take(member):
        use_address(member.index, cfg)
        try:
            member.login()
            member.round_page()
            member.start()
            member.sync()
            for number in range(1, cfg["attempts"] + 1):
                if number > 1:
                    member.start_api()
                # The same answers in every run: drawn from the member and the attempt's number only.
                member.answer_attempt(random.Random(f"{cfg.get('seed', 1)}:{member.index}:{number}"))
        except FlowFailed as exc:
            return str(exc)
        return None

    cpu = cpu_seconds()
    collector.start()
    greenlets = [gevent.spawn(take, m) for m in members]
    gevent.joinall(greenlets, timeout=cfg["time_limit"])
    collector.stop()
    unfinished = [g for g in greenlets if not g.ready()]
    failures = [("unfinished" if not g.ready() else g.value if g.successful() else f"crashed: {g.exception!r}")
                for g in greenlets]  # None: every attempt taken
    gevent.killall(unfinished, block=True, timeout=10)
    ledger = [{"index": m.index, "username": m.username, "attempts": m.ledger, "failure": failure}
              for m, failure in zip(members, failures)]
    for member in members:
        member.close()
    return [collector.phase("multi-host", kind="ledger", hosts=hosts, client_cpu=cpu_seconds() - cpu,
                            unfinished=len(unfinished), ledger=ledger)]


SCENARIOS = {"contest-day": contest_day, "baseline": baseline, "sync-start": sync_start, "answer-save": answer_save,
             "multi-host": multi_host}


def main(config_path, result_path):
    with open(config_path) as fh:
        config = json.load(fh)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per simulated member
    started = time.time()
    phases = SCENARIOS[config["scenario"]](config)
    with open(result_path, "w") as fh:
        json.dump({"scenario": config["scenario"], "config": config, "started": started, "phases": phases}, fh)


if __name__ == "__main__":
    main(*sys.argv[1:3])
