#!/usr/bin/env python3
"""Validates deploy/: the compose file against the rules an operator relies on (a schema check that works without
docker), .env.example against the binary's own list of settings, and, where docker exists, `docker compose config`
and a build of the Dockerfile. Usage: check_deploy.py VPNBOT_BINARY"""
import os
import shutil
import subprocess
import sys

import yaml

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1]
errors = []


def fail(message):
    errors.append(message)


with open(os.path.join(here, "docker-compose.yml")) as f:
    compose = yaml.safe_load(f)

known_keys = set()
required_keys = set()
for line in subprocess.run([binary, "config", "keys"], check=True, capture_output=True, text=True).stdout.splitlines():
    name = line.split(" ", 1)[0]
    if name.startswith("VPNBOT_"):
        known_keys.add(name)
        if "required" in line.split(":", 1)[0]:
            required_keys.add(name)

services = compose.get("services", {})
for name in ("postgres", "pgbouncer", "migrate", "gateway", "worker", "scheduler", "wg-agent"):
    if name not in services:
        fail(f"service {name} is missing")

for name, svc in services.items():
    long_running = name != "migrate"
    if long_running and svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
        fail(f"{name}: needs a restart policy")
    logging = svc.get("logging", {})
    if logging.get("driver") != "json-file" or "max-size" not in logging.get("options", {}):
        fail(f"{name}: needs log rotation (json-file with max-size)")
    if long_running and "healthcheck" not in svc:
        fail(f"{name}: needs a healthcheck")
    limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
    if long_running and not ("memory" in limits and "cpus" in limits):
        fail(f"{name}: needs memory and cpu limits")
    if svc.get("network_mode") == "host" and name != "wg-agent":
        fail(f"{name}: only the wg-agent may use the host network")
    if svc.get("privileged"):
        fail(f"{name}: privileged containers are not allowed")
    env = svc.get("environment", {}) or {}
    for key in env:
        if key.startswith("VPNBOT_") and key not in known_keys:
            fail(f"{name}: {key} is not a vpnbot setting (the process would refuse to start)")
    if name in ("gateway", "worker", "scheduler"):
        roles = env.get("VPNBOT_ROLES")
        if roles != name:
            fail(f"{name}: VPNBOT_ROLES must be {name}, is {roles}")
        if "VPNBOT_DATABASE_URL" not in env or "pgbouncer" not in env["VPNBOT_DATABASE_URL"]:
            fail(f"{name}: must reach the database through pgbouncer")

agent = services.get("wg-agent", {})
if agent.get("network_mode") != "host":
    fail("wg-agent: must run on the host network (it owns the host's WireGuard interface)")
if "NET_ADMIN" not in agent.get("cap_add", []):
    fail("wg-agent: needs CAP_NET_ADMIN")
if not any("/dev/net/tun" in d for d in agent.get("devices", [])):
    fail("wg-agent: needs /dev/net/tun for wireguard-go")
if services.get("pgbouncer", {}).get("environment", {}).get("POOL_MODE") != "transaction":
    fail("pgbouncer: must run in transaction mode")
for name, svc in services.items():
    if name not in ("postgres", "pgbouncer") and svc.get("image", "").startswith("vpnbot") is False:
        fail(f"{name}: expected the vpnbot image")
    for port in svc.get("ports", []):
        if not str(port).startswith("127.0.0.1:"):
            fail(f"{name}: port {port} must be published on loopback only (a TLS proxy fronts the gateway)")

example = {}
with open(os.path.join(here, ".env.example")) as f:
    for raw in f:
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
for key in example:
    if key.startswith("VPNBOT_") and key not in known_keys:
        fail(f".env.example: {key} is not a vpnbot setting")
for key in ("POSTGRES_PASSWORD", "NODE_NAME", "VPNBOT_TELEGRAM_TOKEN", "VPNBOT_TELEGRAM_MODE",
            "VPNBOT_TELEGRAM_WEBHOOK_SECRET", "VPNBOT_PUBLIC_URL", "VPNBOT_ADMIN_IDS"):
    if key not in example:
        fail(f".env.example: {key} is required and missing")
for key in required_keys:
    # database_url and master_key_file are set by the compose file itself.
    if key not in example and not all(key in (s.get("environment") or {}) for n, s in services.items()
                                      if n in ("gateway", "worker", "scheduler", "wg-agent", "migrate")):
        fail(f"required setting {key} is set neither in .env.example nor in every bot service")

for unit in ("vpnbot-gateway.service", "vpnbot-worker@.service", "vpnbot-scheduler.service",
             "vpnbot-wg-agent.service"):
    path = os.path.join(here, "systemd", unit)
    if not os.path.exists(path):
        fail(f"systemd unit {unit} is missing")
    elif "Restart=" not in open(path).read():
        fail(f"{unit}: needs Restart=")

import json
import re

with open(os.path.join(here, "grafana", "vpnbot-dashboard.json")) as f:
    dashboard = json.load(f)
with open(os.path.join(os.path.dirname(here), "src", "app", "metrics.cpp")) as f:
    # Families are registered as BuildX().Name("vpnbot_...") or through gauge(*registry_, "vpnbot_...", help).
    registered = set(re.findall(r'(?:Name\(|gauge\(\*registry_, )"(vpnbot_[a-z_]+)"', f.read()))
used = set()
for p in dashboard.get("panels", []):
    for t in p.get("targets", []):
        used.update(m.removesuffix("_bucket") for m in re.findall(r"vpnbot_[a-z_]+", t["expr"]))
for name in sorted(used - registered):
    fail(f"grafana dashboard uses {name}, which the binary does not export")
for name in sorted(registered - used):
    fail(f"metric {name} has no panel in the grafana dashboard")

# The image: its runtime stage installs the package of every shared library the binary links directly (as this
# machine's dpkg names them; the image is Debian 12 as well) plus tzdata, which users' local times are read from;
# its build stage installs every -dev package scripts/setup installs for the binary.
with open(os.path.join(here, "Dockerfile")) as f:
    dockerfile = f.read()
stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]


def installed_in(stage):
    names = set()
    for block in re.findall(r"apt-get install((?:[^\n]*\\\n)*[^\n]*)", stage):
        for word in re.split(r"[\s\\]+", block):
            if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", word) and word != "rm":
                names.add(word)
    return names


if len(stages) != 2:
    fail("Dockerfile: expected a build stage and a runtime stage")
else:
    build_packages, runtime_packages = installed_in(stages[0]), installed_in(stages[1])
    base = {"libc6", "libstdc++6", "libgcc-s1"}  # in every Debian image
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout)
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", subprocess.run(["ldd", binary], capture_output=True,
                                                                    text=True).stdout, flags=re.M))
    for soname in needed:
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(paths.get(soname, soname))], capture_output=True,
                               text=True)
        if owner.returncode != 0:
            continue  # not from a package (e.g. a sanitizer runtime of a test build)
        package = owner.stdout.split(":", 1)[0]
        if re.match(r"lib[aul]san\d", package):
            continue  # a sanitizer runtime: a test build, never the image's
        if package not in base and package not in runtime_packages:
            fail(f"Dockerfile: the runtime stage lacks {package}, which provides {soname}")
    if "tzdata" not in runtime_packages:
        fail("Dockerfile: the runtime stage lacks tzdata (users' local times are read from it)")
    with open(os.path.join(os.path.dirname(here), "scripts", "setup")) as f:
        setup = f.read()
    setup_packages = setup[setup.index("packages=("):setup.index(")", setup.index("packages=("))]
    for package in re.findall(r"\b([a-z0-9+.-]+-dev)\b", setup_packages):
        if package in ("libgtest-dev", "libgmock-dev", "libbenchmark-dev"):
            continue  # tests and benchmarks only
        if package not in build_packages:
            fail(f"Dockerfile: the build stage lacks {package} (scripts/setup installs it for the build)")

if errors:
    for e in errors:
        print("deploy check: " + e)
    sys.exit(1)
print(f"deploy check: compose ({len(services)} services), .env.example ({len(example)} keys) and systemd units valid")

docker = shutil.which("docker")
compose_ok = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
if compose_ok:
    env = dict(os.environ, POSTGRES_PASSWORD="x", NODE_NAME="n")
    r = subprocess.run([docker, "compose", "-f", os.path.join(here, "docker-compose.yml"), "config", "-q"],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print("docker compose config: " + r.stderr)
        sys.exit(1)
    print("docker compose config: valid")
else:
    print("SKIPPED docker compose config: the compose plugin is not installed here (the schema check above ran)")
daemon_ok = docker and subprocess.run([docker, "info"], capture_output=True).returncode == 0
if daemon_ok and os.environ.get("VPNBOT_DOCKER_BUILD") == "1":
    r = subprocess.run([docker, "build", "-f", os.path.join(here, "Dockerfile"), "-t", "vpnbot:check",
                        os.path.dirname(here)])
    sys.exit(r.returncode)
print("SKIPPED docker build: " + ("no docker daemon reachable here" if not daemon_ok
                                 else "set VPNBOT_DOCKER_BUILD=1 to build the image (needs network for apt)"))
