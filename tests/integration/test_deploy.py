#!/usr/bin/env python3
"""The bare-metal deployment files: deploy/quicsteer.service passes
`systemd-analyze verify` with no warning and keeps its promises (graceful
stop longer than shutdown_timeout_ms, the runtime directory of its file
prefix); its ExecStartPre runs deploy/setup-host.sh with the words of
QUICSTEER_SETUP; setup-host.sh refuses what it must (bad usage, a missing
device, an interface in use, no IOMMU) before changing anything and, in a
dry run on a made-up sysfs, prints exactly the hugepage, modprobe and
dpdk-devbind.py commands. As root it also reserves hugepages for real and
puts everything back. No device is ever bound and no module loaded: every
run touching PCI is a --dry-run.

Each part that cannot run here (no systemd-analyze, not root, no
hugepages) is skipped with the reason; exit 77 when every part is."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rig import REPO, SKIP, Skipped, TestFailure, check, check_eq, quicsteer_binary

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "quicsteer.service"
DEFAULTS = DEPLOY / "quicsteer.default"
SETUP = DEPLOY / "setup-host.sh"
INSTALLED_BINARY = "/usr/local/bin/quicsteer"
INSTALLED_LIBEXEC = "/usr/local/lib/quicsteer/"
EXAMPLE_CONFIG = REPO / "config" / "quicsteer.ini"
FAKE_ADDR = "0000:99:00.0"
FAKE_IF = "qsdeploy0"          # no such interface, so no real routes match


def run(argv, env=None, timeout=60):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def setup_host(*args):
    return run(["bash", SETUP, *args])


def would_run(proc):
    """The commands a dry run printed, in order."""
    return [ln[len("would run: "):] for ln in proc.stdout.splitlines()
            if ln.startswith("would run: ")]


def unit_settings(path):
    """[(section, key, value)] of a unit file, in order."""
    settings, section = [], None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.append((section, key, value))
    return settings


def unit_value(settings, key):
    values = [v for _, k, v in settings if k == key]
    check(len(values) == 1, f"{UNIT.name}: {key}= {len(values)} times, expected once")
    return values[0]


def seconds(text):
    m = re.fullmatch(r"(\d+)(s|min)?", text)
    check(m is not None, f"cannot read a time span from {text!r}")
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


def host_state():
    """What setup-host.sh could change: hugepages, hugetlbfs mounts, vfio
    modules and every PCI device's driver."""
    mounts = [ln for ln in Path("/proc/mounts").read_text().splitlines() if "hugetlbfs" in ln]
    modules = sorted(ln.split()[0] for ln in Path("/proc/modules").read_text().splitlines()
                     if "vfio" in ln) if Path("/proc/modules").exists() else []
    drivers = {d.name: os.path.realpath(d / "driver") if (d / "driver").exists() else None
               for d in Path("/sys/bus/pci/devices").iterdir()} \
        if Path("/sys/bus/pci/devices").is_dir() else {}
    return {"nr_hugepages": Path("/proc/sys/vm/nr_hugepages").read_text().strip(),
            "mounts": mounts, "modules": modules, "drivers": drivers}


def meminfo(key):
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


class FakeSysfs:
    """A sysfs root with one made-up NIC, FAKE_ADDR, on driver ixgbe with the
    interface FAKE_IF (down), in IOMMU group 7."""

    def __init__(self, root):
        self.root = Path(root)
        self.dev = self.root / "bus" / "pci" / "devices" / FAKE_ADDR
        (self.dev / "net" / FAKE_IF).mkdir(parents=True)
        for d in ("bus/pci/drivers/ixgbe", "bus/pci/drivers/vfio-pci",
                  "kernel/iommu_groups/7", "module/vfio/parameters"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.dev / "class").write_text("0x020000\n")
        self.set_flags(0x1002)
        self.bind("ixgbe")
        (self.dev / "iommu_group").symlink_to(self.root / "kernel/iommu_groups/7")
        (self.root / "module/vfio/parameters/enable_unsafe_noiommu_mode").write_text("N\n")

    def set_flags(self, flags):
        (self.dev / "net" / FAKE_IF / "flags").write_text(f"{flags:#x}\n")

    def bind(self, driver):
        link = self.dev / "driver"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(self.root / "bus/pci/drivers" / driver)

    def dry_run(self, *args):
        return setup_host("--dry-run", "--sysfs", self.root, *args)


# ---- the unit ----------------------------------------------------------------

def part_unit_verify(tmp, ctx):
    """systemd-analyze verify: no warning about the unit. It checks that
    ExecStart's program exists, so the copy it reads names the built binary
    instead of /usr/local/bin/quicsteer; nothing else differs."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        raise Skipped("no systemd-analyze (Debian package systemd)")
    text = UNIT.read_text()
    check_eq(text.count(f"ExecStart={INSTALLED_BINARY} "), 1,
             f"ExecStart= lines naming {INSTALLED_BINARY}")
    copy_dir = tmp / "unit"
    copy_dir.mkdir()
    copy = copy_dir / UNIT.name
    copy.write_text(text.replace(f"ExecStart={INSTALLED_BINARY} ",
                                 f"ExecStart={quicsteer_binary()} "))

    def verify(path):
        proc = run([analyze, "verify", path])
        out = (proc.stdout + proc.stderr).strip()
        # other units on the machine may have warnings of their own
        ours = [ln for ln in out.splitlines()
                if UNIT.name in ln or str(path) in ln or "Unknown" in ln]
        return proc.returncode, ours, out

    rc, ours, out = verify(copy)
    check(rc == 0 and not ours,
          f"systemd-analyze verify {UNIT.name}: exit {rc}:\n{out}")
    print(f"  systemd-analyze verify: exit 0, no warning"
          f"{' (other units: ' + out + ')' if out else ''}")

    # the check above notices warnings: an unknown key makes one
    copy.write_text(copy.read_text() + "\n[Service]\nNoSuchSetting=1\n")
    rc, ours, out = verify(copy)
    check(any("NoSuchSetting" in ln for ln in ours),
          f"systemd-analyze verify did not report an unknown key: exit {rc}:\n{out}")


def part_unit_promises(tmp, ctx):
    """The settings the README and the task promise, read from the file."""
    s = unit_settings(UNIT)
    check_eq(unit_value(s, "Type"), "simple", "Type")
    check_eq(unit_value(s, "KillSignal"), "SIGTERM", "KillSignal")
    check_eq(unit_value(s, "Restart"), "on-failure", "Restart")
    check_eq(unit_value(s, "LimitMEMLOCK"), "infinity", "LimitMEMLOCK")
    check_eq(unit_value(s, "EnvironmentFile"), "-/etc/default/quicsteer", "EnvironmentFile")
    check_eq(unit_value(s, "ExecReload"), "/bin/kill -HUP $MAINPID",
             "ExecReload (SIGHUP: reload and reopen the access log)")
    check(seconds(unit_value(s, "RestartSec")) >= 1, "RestartSec under 1 s: a busy restart loop")
    # a graceful stop fits: TimeoutStopSec above the default grace period
    m = re.search(r"^shutdown_timeout_ms\s*=\s*(\d+)", EXAMPLE_CONFIG.read_text(), re.M)
    check(m is not None, f"{EXAMPLE_CONFIG}: no shutdown_timeout_ms")
    grace_s = int(m.group(1)) / 1000
    stop_s = seconds(unit_value(s, "TimeoutStopSec"))
    check(stop_s >= grace_s + 10, f"TimeoutStopSec={stop_s}s leaves under 10 s beyond "
                                   f"shutdown_timeout_ms ({grace_s:g} s)")
    # DPDK's runtime directory is the one the unit makes and may write
    start = unit_value(s, "ExecStart")
    m = re.search(r"--file-prefix (\S+)", start)
    check(m is not None, f"ExecStart= gives no --file-prefix: {start}")
    check_eq(unit_value(s, "RuntimeDirectory"), f"dpdk/{m.group(1)}", "RuntimeDirectory")
    check("$QUICSTEER_EAL -- $QUICSTEER_OPTS" in start,
          f"ExecStart= does not split the EAL and quicsteer options: {start}")
    # the template sets every variable the unit reads, and no file prefix
    defaults = dict(re.findall(r'^(QUICSTEER_\w+)="([^"]*)"$', DEFAULTS.read_text(), re.M))
    check_eq(sorted(defaults), ["QUICSTEER_EAL", "QUICSTEER_OPTS", "QUICSTEER_SETUP"],
             f"variables in {DEFAULTS.name}")
    check("--file-prefix" not in defaults["QUICSTEER_EAL"],
          "the template's QUICSTEER_EAL gives --file-prefix: the unit sets it")
    print(f"  TimeoutStopSec {stop_s} s > shutdown_timeout_ms {grace_s:g} s; "
          f"RuntimeDirectory dpdk/{m.group(1)}")
    ctx["defaults"] = defaults


def part_exec_start_pre(tmp, ctx):
    """The unit's ExecStartPre, as systemd runs it ($$ -> $, QUICSTEER_SETUP
    from the environment), with setup-host.sh from deploy/."""
    if "defaults" not in ctx:
        raise Skipped("needs the template's values (the unit settings part failed)")
    defaults = ctx["defaults"]
    s = unit_settings(UNIT)
    line = unit_value(s, "ExecStartPre")
    check(line.startswith("+"), f"ExecStartPre= must run outside the sandbox (+): {line}")
    check(INSTALLED_LIBEXEC + "setup-host.sh" in line,
          f"ExecStartPre= does not run {INSTALLED_LIBEXEC}setup-host.sh: {line}")
    argv = shlex.split(line[1:].replace("$$", "$").replace(INSTALLED_LIBEXEC, f"{DEPLOY}/"))
    fake = FakeSysfs(tmp / "sys-pre")

    def pre(setup):
        return run(argv, env={**os.environ, "QUICSTEER_SETUP": setup})

    proc = pre("")
    check(proc.returncode == 0 and not proc.stdout + proc.stderr,
          f"ExecStartPre with QUICSTEER_SETUP empty: exit {proc.returncode}, "
          f"{proc.stdout}{proc.stderr}")
    proc = pre(f"--dry-run --sysfs {fake.root} --pci {FAKE_ADDR}")
    check(proc.returncode == 0 and f"dpdk-devbind.py -b vfio-pci {FAKE_ADDR}" in would_run(proc),
          f"ExecStartPre did not pass QUICSTEER_SETUP's words: exit {proc.returncode}\n"
          f"{proc.stdout}{proc.stderr}")
    # the template's options parse (exit 1: its NIC is not in the fake sysfs)
    proc = pre(f"--dry-run --sysfs {fake.root} {defaults['QUICSTEER_SETUP']}")
    check(proc.returncode == 1 and "no such PCI device" in proc.stderr,
          f"the template's QUICSTEER_SETUP: exit {proc.returncode}, expected 1 "
          f"(device absent):\n{proc.stdout}{proc.stderr}")
    print("  ExecStartPre: nothing when QUICSTEER_SETUP is empty, "
          "else setup-host.sh with its words")


# ---- setup-host.sh -------------------------------------------------------------

def part_setup_usage(tmp, ctx):
    proc = setup_host("--help")
    check(proc.returncode == 0 and "--pci ADDR" in proc.stdout and "--dry-run" in proc.stdout,
          f"--help: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    for args, needle in [((), "nothing to do"),
                         (("--pci", "01:00"), "not a PCI address"),
                         (("--pci", "0000:01:00.8"), "not a PCI address"),
                         (("--pci",), "needs a value"),
                         (("--hugepages", "0"), "positive number"),
                         (("--hugepages", "4", "--hugepage-size", "4M"), "2M or 1G"),
                         (("--frobnicate",), "unknown argument"),
                         (("--sysfs", str(tmp), "--pci", FAKE_ADDR), "needs --dry-run")]:
        proc = setup_host(*args)
        check(proc.returncode == 2 and needle in proc.stderr,
              f"setup-host.sh {' '.join(args)}: exit {proc.returncode}, expected 2 "
              f"and {needle!r}:\n{proc.stderr}")
    print("  usage errors exit 2 with the reason; --help exits 0")


def part_setup_missing_device(tmp, ctx):
    """A made-up address on the real /sys: refused, nothing changed."""
    if Path("/sys/bus/pci/devices", FAKE_ADDR).exists():
        raise Skipped(f"this machine has a PCI device {FAKE_ADDR}")
    before = host_state()
    proc = setup_host("--dry-run", "--pci", FAKE_ADDR)
    check(proc.returncode == 1, f"exit {proc.returncode}, expected 1:\n{proc.stdout}{proc.stderr}")
    check(f"{FAKE_ADDR}: no such PCI device" in proc.stderr,
          f"stderr does not say the device does not exist:\n{proc.stderr}")
    check(not would_run(proc), f"commands printed for a missing device:\n{proc.stdout}")
    check(host_state() == before, "the host changed")
    print(f"  --dry-run --pci {FAKE_ADDR}: exit 1, {proc.stderr.splitlines()[0]!r}")


def part_setup_fake_sysfs(tmp, ctx):
    """Dry runs on a made-up sysfs: the exact commands, and each refusal."""
    before = host_state()
    fake = FakeSysfs(tmp / "sys")
    devbind = f"dpdk-devbind.py -b vfio-pci {FAKE_ADDR}"
    hugepage_kb = meminfo("Hugepagesize")

    # the commands, in order: hugepages, module, binding
    if hugepage_kb == 2048:
        proc = fake.dry_run("--pci", FAKE_ADDR, "--hugepages", "8")
        expected = [f"bash {SETUP.parent}/hugepages.sh reserve 16",
                    "modprobe vfio-pci", devbind]
    else:
        print(f"  (default hugepage size {hugepage_kb} kB, not 2048: no hugepages in the dry run)")
        proc = fake.dry_run("--pci", FAKE_ADDR)
        expected = ["modprobe vfio-pci", devbind]
    check(proc.returncode == 0, f"dry run: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    check_eq(would_run(proc), expected, "dry-run commands")
    check("nothing changed" in proc.stdout, f"the dry run does not say so:\n{proc.stdout}")
    for cmd in expected:
        print(f"  would run: {cmd}")

    # short address form, domain 0000 added
    proc = fake.dry_run("--pci", FAKE_ADDR[5:].upper())
    check_eq(would_run(proc), ["modprobe vfio-pci", devbind], "commands for the short address")

    # an interface that is up: refused, then --force passed on
    fake.set_flags(0x1003)
    proc = fake.dry_run("--pci", FAKE_ADDR)
    check(proc.returncode == 1 and f"interface {FAKE_IF} is up" in proc.stderr
          and "--force" in proc.stderr and not would_run(proc),
          f"an up interface: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    proc = fake.dry_run("--pci", FAKE_ADDR, "--force")
    check_eq(would_run(proc), ["modprobe vfio-pci",
                               f"dpdk-devbind.py -b vfio-pci --force {FAKE_ADDR}"],
             "commands with --force")
    fake.set_flags(0x1002)
    print("  an interface that is up: refused, with --force bound with dpdk-devbind.py --force")

    # no IOMMU: refused with both ways out; --noiommu sets the unsafe mode
    (fake.dev / "iommu_group").unlink()
    proc = fake.dry_run("--pci", FAKE_ADDR)
    check(proc.returncode == 1 and "intel_iommu=on" in proc.stderr
          and "enable_unsafe_noiommu_mode" in proc.stderr and not would_run(proc),
          f"no IOMMU: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    proc = fake.dry_run("--pci", FAKE_ADDR, "--noiommu")
    param = fake.root / "module/vfio/parameters/enable_unsafe_noiommu_mode"
    check_eq(would_run(proc), ["modprobe vfio-pci", f"echo 1 > {param}", devbind],
             "commands with --noiommu")
    print("  no IOMMU group: refused (intel_iommu=on, or --noiommu); "
          "--noiommu sets the unsafe mode")

    # not a network controller: refused
    (fake.dev / "class").write_text("0x010802\n")
    proc = fake.dry_run("--pci", FAKE_ADDR, "--noiommu")
    check(proc.returncode == 1 and "not a network controller" in proc.stderr,
          f"an NVMe controller: exit {proc.returncode}\n{proc.stderr}")
    (fake.dev / "class").write_text("0x020000\n")

    # already on vfio-pci: nothing to do
    fake.bind("vfio-pci")
    proc = fake.dry_run("--pci", FAKE_ADDR)
    check(proc.returncode == 0 and "already bound to vfio-pci" in proc.stdout
          and not would_run(proc),
          f"already bound: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    fake.bind("ixgbe")

    # the other page size: its sysfs count and a mount of its own
    other_kb = 1048576 if hugepage_kb != 1048576 else 2048
    other = "1G" if other_kb == 1048576 else "2M"
    pages = fake.root / f"kernel/mm/hugepages/hugepages-{other_kb}kB"
    pages.mkdir(parents=True)
    (pages / "nr_hugepages").write_text("2\n")
    (pages / "free_hugepages").write_text("1\n")
    proc = fake.dry_run("--hugepages", "4", "--hugepage-size", other)
    mounted = any(f"pagesize={other}" in ln for ln in before["mounts"])
    expected = [f"echo 5 > {pages}/nr_hugepages"]
    if not mounted:
        expected += [f"mkdir -p /dev/hugepages-{other}",
                     f"mount -t hugetlbfs -o pagesize={other} nodev /dev/hugepages-{other}"]
    check_eq(would_run(proc), expected, f"commands for {other} pages")
    print(f"  {other} pages: would run: {' ; '.join(expected)}")

    check(host_state() == before, "the host changed during dry runs")


def part_setup_real_device_in_use(tmp, ctx):
    """A real NIC whose interface is up (the machine's own link): a dry run
    refuses it. Never run without --dry-run."""
    for dev in sorted(Path("/sys/bus/pci/devices").glob("*")):
        for net in [*dev.glob("net/*"), *dev.glob("*/net/*")]:
            try:
                up = int((net / "flags").read_text(), 16) & 1
            except (OSError, ValueError):
                continue
            if up and not (dev / "driver").resolve().name == "vfio-pci":
                before = host_state()
                proc = setup_host("--dry-run", "--pci", dev.name)
                check(proc.returncode == 1 and f"interface {net.name} is up" in proc.stderr
                      and not would_run(proc),
                      f"{dev.name} ({net.name}, up): exit {proc.returncode}\n"
                      f"{proc.stdout}{proc.stderr}")
                check(host_state() == before, "the host changed")
                print(f"  {dev.name} ({net.name}, up): refused")
                return
    raise Skipped("no PCI NIC with an interface that is up")


def part_hugepages_for_real(tmp, ctx):
    """setup-host.sh --hugepages reserves (nr_hugepages goes up) and mounts
    hugetlbfs; then everything is put back as it was."""
    if os.geteuid() != 0:
        raise Skipped("not root: hugepages are reserved as root")
    if meminfo("Hugepagesize") != 2048:
        raise Skipped(f"default hugepage size {meminfo('Hugepagesize')} kB, not 2048")
    nr_path = Path("/proc/sys/vm/nr_hugepages")
    nr_before = int(nr_path.read_text())
    mounts_before = {ln.split()[1] for ln in Path("/proc/mounts").read_text().splitlines()
                     if ln.split()[2] == "hugetlbfs"}
    # more than are free, so the kernel must give new pages
    want = (meminfo("HugePages_Free") or 0) + 16
    proc = setup_host("--hugepages", str(want))
    try:
        if proc.returncode != 0:
            raise Skipped(f"the kernel gives no hugepages here: {proc.stderr.strip()}")
        nr_after = int(nr_path.read_text())
        check(nr_after > nr_before, f"nr_hugepages {nr_before} -> {nr_after}: did not go up")
        check((meminfo("HugePages_Free") or 0) >= want,
              f"fewer than {want} free hugepages after the reservation")
        mounts = {ln.split()[1] for ln in Path("/proc/mounts").read_text().splitlines()
                  if ln.split()[2] == "hugetlbfs"}
        check(mounts, "no hugetlbfs mounted after the reservation")
        print(f"  nr_hugepages {nr_before} -> {nr_after}, hugetlbfs on {', '.join(sorted(mounts))}")
    finally:
        # put back only what is still ours (a concurrent test may reserve too)
        nr_now = int(nr_path.read_text())
        if nr_now != nr_before and proc.returncode == 0:
            nr_path.write_text(f"{nr_before}\n")
        for mnt in {ln.split()[1] for ln in Path("/proc/mounts").read_text().splitlines()
                    if ln.split()[2] == "hugetlbfs"} - mounts_before:
            if not any(Path(mnt).iterdir()):
                subprocess.run(["umount", mnt], check=False)
    check_eq(int(nr_path.read_text()), nr_before, "nr_hugepages after the restore")
    print(f"  restored: nr_hugepages {nr_before}, mounts as before")


PARTS = [("unit: systemd-analyze verify", part_unit_verify),
         ("unit: settings", part_unit_promises),
         ("unit: ExecStartPre", part_exec_start_pre),
         ("setup-host: usage", part_setup_usage),
         ("setup-host: missing device", part_setup_missing_device),
         ("setup-host: dry runs on a made-up sysfs", part_setup_fake_sysfs),
         ("setup-host: a real NIC in use", part_setup_real_device_in_use),
         ("setup-host: hugepages for real", part_hugepages_for_real)]


def main():
    failed, ran, ctx = [], 0, {}
    with tempfile.TemporaryDirectory(prefix="qs-deploy-") as tmp:
        for i, (name, part) in enumerate(PARTS):
            sub = Path(tmp) / str(i)
            sub.mkdir()
            print(f"{name}:")
            try:
                part(sub, ctx)
                ran += 1
                print("  ok")
            except Skipped as e:
                print(f"  SKIP: {e}")
            except (TestFailure, subprocess.TimeoutExpired) as e:
                failed.append(name)
                print(f"  FAIL: {e}", file=sys.stderr)
    if failed:
        print(f"FAIL: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)
    if ran == 0:
        print("SKIP: every part was skipped")
        sys.exit(SKIP)
    print("PASS")
    sys.exit(0)


if __name__ == "__main__":
    main()
