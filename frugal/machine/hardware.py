"""Facts about the machine and what it costs: the CPU chip, its power per busy hardware thread,
the host's threads (SCI's ToR) and the embodied-carbon constants, with where each came from.

    specpower (default): P_busy = max - min of Cloud Carbon Footprint's SPECpower-based
                         coefficients (W per vCPU) for the chip's microarchitecture ("family")
    tdp:                 P_busy = TDP of one package / that package's hardware threads

The family is the instance's host family, else the chip row's (``family`` column of the tables);
the coefficients are the instance's provider's (``frugal/data/families.csv``), else AWS's (the
most complete, also for a machine on no known cloud). A family without coefficients, or a
configured ``cpu_tdp_w``, falls back to the TDP rule:
- Bare metal: the threads are what the OS shows, so P = TDP x packages / logical CPUs.
- Virtual machine: the host chip's threads from the CPU table (``frugal/data/cpus.csv``), else
  ``host_threads`` (taken as one package); never the guest's vCPU count.
- Unknown chip, or a VM whose chip threads and host threads are both unknown: CodeCarbon's
  default for unknown CPUs, 4 W per logical CPU (``frugal/data/defaults.csv``).
The chip: ``cpu_model``, else the ``instance_type``'s host chip (set, or read from DMI), else
the brand string matched in the table: a cleaned table name equal to it, else the longest
table names whose every word is in it, which carry a model number and hold its last word (a word
after the model, "Pro", "v3", is part of the model), when they agree on one TDP. A brand string
without a model number (VMs often show "AMD EPYC") matches nothing.
Host threads: ``host_threads``, else the instance's host, else the logical CPUs on bare metal,
else the chip's threads (one package) on a VM, else the default VM host (defaults.csv).
Only local files are read (``/proc``, ``/sys``): no metadata server. Standard library only.
"""
from __future__ import annotations

import difflib
import functools
import os
import re
import sys
from dataclasses import dataclass

from frugal import data

SECONDS_PER_YEAR = 365.25 * 24 * 3600

_NOISE = re.compile(r"\((r|tm)\)|®|™|\bcpu\b|\bprocessor\b|\b\d+-core\b|\b(with|w/) radeon.*$|"
                    r"\bradeon graphics\b|@.*$")


# Every match of _NOISE holds one of these: a name without any is left as it is by _NOISE, and
# most of the table's 4,900 names have none (the regular expression on each cost 26 ms a process).
_NOISE_HINTS = ("(", "®", "™", "cpu", "processor", "-core", "radeon", "@")


def clean(name: str) -> str:
    """Lower-case words of a CPU name without trademarks, clock speed and filler words."""
    folded = name.casefold()
    for hint in _NOISE_HINTS:
        if hint in folded:
            folded = _NOISE.sub(" ", folded)
            break
    return " ".join(folded.replace(",", " ").split())


# --- what the system says ---------------------------------------------------------------------

def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def brand_string(proc_root: str = "/proc") -> str:
    """The CPU's brand string as the system reports it ('' when it cannot be read)."""
    text = _read(os.path.join(proc_root, "cpuinfo"))
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    import platform
    import subprocess

    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                 text=True, timeout=5, check=False)
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or ""


def sockets(proc_root: str = "/proc") -> int:
    """Physical CPU packages (distinct 'physical id' in /proc/cpuinfo; 1 when not told)."""
    ids = set(re.findall(r"^physical id\s*:\s*(\d+)", _read(os.path.join(proc_root, "cpuinfo")), re.MULTILINE))
    return max(1, len(ids))


def logical_cpus() -> int:
    """Logical CPUs of the machine (os.cpu_count(); 1 when unknown)."""
    return os.cpu_count() or 1


# DMI vendor or product names that are virtual machines (an AWS ".metal" product is not).
_VM_DMI = ("kvm", "qemu", "vmware", "virtualbox", "xen", "bochs", "openstack", "google compute engine",
           "virtual machine", "amazon ec2", "cloud hypervisor", "bhyve", "parallels")


@dataclass(frozen=True)
class Machine:
    """What the local files say about this machine (read once per process)."""

    brand: str
    logical_cpus: int
    sockets: int
    virtual: bool
    virtual_source: str      # why frugal thinks it is (or is not) a virtual machine
    dmi_vendor: str          # /sys/class/dmi/id/sys_vendor ('' when unreadable)
    dmi_product: str         # /sys/class/dmi/id/product_name ('' when unreadable)
    affinity_cpus: int | None = None   # CPUs this process may run on (sched_getaffinity), None when not told


def affinity_cpus() -> int | None:
    """The CPUs this process may run on (its affinity mask), None where the system cannot say."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):    # macOS and Windows have no sched_getaffinity
        return None


def detect(proc_root: str = "/proc", sys_root: str = "/sys") -> Machine:
    """Read the brand string, CPUs, hypervisor flag, /sys/hypervisor and DMI names."""
    cpuinfo = _read(os.path.join(proc_root, "cpuinfo"))
    dmi = os.path.join(sys_root, "class", "dmi", "id")
    vendor, product = _read(os.path.join(dmi, "sys_vendor")).strip(), _read(os.path.join(dmi, "product_name")).strip()
    hyper = _read(os.path.join(sys_root, "hypervisor", "type")).strip()
    named = next((v for v in _VM_DMI if v in f"{vendor} {product}".casefold()), None)
    if re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.MULTILINE):
        virtual, why = True, "the CPU flags name a hypervisor (/proc/cpuinfo)"
    elif hyper:
        virtual, why = True, f"/sys/hypervisor/type is {hyper!r}"
    elif named is not None and not product.casefold().endswith("metal"):
        virtual, why = True, f"DMI names a virtual machine ({vendor} {product})".replace(" )", ")")
    else:
        virtual, why = False, "bare metal: no hypervisor flag, no /sys/hypervisor, DMI names no virtual machine"
    return Machine(brand_string(proc_root), logical_cpus(), sockets(proc_root), virtual, why, vendor, product,
                   affinity_cpus())


@functools.lru_cache(maxsize=None)
def machine() -> Machine:
    """This machine, detected once."""
    return detect()


def is_virtual(proc_root: str = "/proc") -> bool:
    """True when the CPU flags say a hypervisor runs this system."""
    return detect(proc_root, "/nonexistent").virtual


# --- the CPU table and the instance table -------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _candidates(word: str) -> tuple[dict[str, data.CpuRow], list[tuple[frozenset[str], data.CpuRow]]]:
    """The table rows whose cleaned name has the word ``word``, in table order: (cleaned name ->
    first row, [(words, row) of names with a digit]). ``clean`` never joins two pieces of a name
    into one word, so such a name holds ``word`` as text: only those few are read and cleaned
    (reading and cleaning the table's 4,900 names cost 40 ms, most of a ``frugal run``'s own time)."""
    exact: dict[str, data.CpuRow] = {}
    worded = []
    for row in data.cpu_rows_holding(word):
        if word not in row[0].casefold():
            continue
        key = clean(row[0])
        words = frozenset(key.split())
        if word not in words:
            continue
        exact.setdefault(key, row)
        if any(ch.isdigit() for ch in key):
            worded.append((words, row))
    return exact, worded


def match_cpu(brand: str) -> data.CpuRow | None:
    """The table row of a brand string or model name, or None when nothing matches unambiguously."""
    key = clean(brand)
    if not key:
        return None
    seq = key.split()
    # every row that can match has the brand string's last word: the exact one, and the worded
    # ones below by their rule
    exact, worded = _candidates(seq[-1])
    if key in exact:
        return exact[key]
    words = set(seq)
    # a table name's words all in the brand string, and the brand string's last word among them:
    # leading words may be filler ("12th Gen Intel Core i7-1260P"), but a word after the model is
    # part of the model ("Apple M1 Pro" is not "Apple M1", "Xeon E5-2676 v3" not "Xeon E5-2676")
    hits = [(len(w), row) for w, row in worded if w <= words]
    if not hits:
        return None
    best = max(size for size, _ in hits)
    top = [row for size, row in hits if size == best]
    if len({row[1] for row in top}) != 1:
        return None
    return min(top)


def _hints(key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, names, n=4, cutoff=0.6)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def resolve_cpu_model(text: str, setting: str = "cpu_model") -> str:
    """The table's name for a CPU model ('AMD EPYC 7763'); ValueError with close matches otherwise."""
    row = match_cpu(text)
    if row is not None:
        return row[0]
    names = {clean(r[0]): r[0] for r in data.cpu_table()}
    close = difflib.get_close_matches(clean(text), list(names), n=4, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(names[c]) for c in close)}?" if close else ""
    raise ValueError(f"{setting}={text!r} is not a CPU model of frugal's table "
                     f"({len(data.cpu_table())} models, frugal/data/cpus.csv){hint}")


def resolve_instance(text: str, setting: str = "instance_type") -> str:
    """The provider's spelling of an instance type ('m6i.large'); ValueError with close matches otherwise."""
    table = data.instances()
    hit = table.get(data.instance_key(text))
    if hit is not None:
        return hit.instance_type
    hint = _hints(data.instance_key(text), list(table))
    raise ValueError(f"{setting}={text!r} is not an instance type of frugal's table (AWS, Google Cloud and "
                     f"Azure general-purpose, compute- and memory-optimised types){hint}")


# --- the power model in force -----------------------------------------------------------------

# CCF's table for a machine on no known cloud, and for a family its provider's table lacks: AWS's
# covers the most microarchitectures (20; Azure's 8, Google Cloud's 9, all of them among AWS's).
DEFAULT_PROVIDER = "aws"


@dataclass(frozen=True)
class CpuPower:
    """The modelled power of one busy logical CPU and the host's threads, with their sources."""

    machine: Machine
    cpu_model: str | None          # the chip in force (a table name), None when unknown
    cpu_model_source: str
    instance_type: str | None
    instance_source: str
    tdp_w: float | None            # TDP of one package (None when unknown)
    package_threads: int | None    # hardware threads sharing that TDP
    host_threads: int              # SCI's ToR: hardware threads of the host
    host_threads_source: str
    watts_per_cpu: float           # W per busy logical CPU (specpower: k_dyn = max - min; tdp: TDP / threads)
    source: str                    # short, carried by every row ("AMD EPYC 7763: 280 W / 128 threads (table)")
    power_model: str = "tdp"       # the rule that gave watts_per_cpu: specpower, tdp or default
    family: str | None = None      # the chip's microarchitecture (CCF's name), None when unknown
    idle_w_per_cpu: float | None = None   # k_idle: CCF's min W per vCPU of the family, None when unknown
    reserved_cpus: int = 1         # SCI's RR: the CPUs the process may use (affinity, else the guest's vCPUs)
    reserved_source: str = ""


def _chip(cpu_model: str | None, inst: data.Instance | None, m: Machine) -> tuple[data.CpuRow | None, str, str]:
    if cpu_model is not None:
        return match_cpu(cpu_model), cpu_model, "configured (cpu_model)"
    if inst is not None:
        row = match_cpu(inst.cpu_model)
        return row, inst.cpu_model, f"host of {inst.instance_type} (frugal/data/instances.csv)"
    row = match_cpu(m.brand)
    if row is not None:
        return row, row[0], f"brand string {m.brand!r} matched in frugal/data/cpus.csv"
    why = "has no model number" if not any(c.isdigit() for c in clean(m.brand)) else "has no unambiguous match"
    return None, m.brand, f"brand string {m.brand!r} {why} in frugal/data/cpus.csv"


@functools.lru_cache(maxsize=None)
def _chip_families() -> dict[str, str]:
    """chip name -> family, from cpus.csv's ``family`` column (absent: empty)."""
    return {r["name"]: r["family"] for r in data.rows("cpus.csv") if r.get("family")}


@functools.lru_cache(maxsize=None)
def _instance_families() -> dict[str, str]:
    """instance type -> family, from instances.csv's ``family`` column (absent: empty)."""
    return {r["instance_type"]: r["family"] for r in data.rows("instances.csv") if r.get("family")}


def family_of(row: data.CpuRow | None, inst: data.Instance | None, use_instance: bool) -> str | None:
    """The microarchitecture of the chip in force: the instance's host, else the chip's row; None when
    unknown. Each table is read only when asked (a chip without a match needs neither)."""
    found = _instance_families().get(inst.instance_type) if inst is not None and use_instance else None
    return found or (_chip_families().get(row[0]) if row is not None else None)


def coefficients(family: str, provider: str) -> tuple[str, data.Family] | None:
    """(the provider whose table gave them, CCF's use coefficients) of a family: the provider's own
    table, else the default provider's (``DEFAULT_PROVIDER``); None when neither has the family."""
    table = data.families()
    for p in dict.fromkeys((provider, DEFAULT_PROVIDER)):
        hit = table.get((p, family))
        if hit is not None:
            return p, hit
    return None


def _reserved(inst: data.Instance | None, virtual: bool, m: Machine) -> tuple[int, str]:
    """SCI's RR: the CPUs the process may use: its affinity, within the guest's vCPUs (or the machine's CPUs)."""
    if inst is not None and virtual:
        cpus, why = inst.vcpus, f"{inst.vcpus} vCPUs of {inst.instance_type}"
    else:
        cpus, why = m.logical_cpus, f"{m.logical_cpus} logical CPUs"
    if m.affinity_cpus is not None and m.affinity_cpus < cpus:
        cpus, why = m.affinity_cpus, f"affinity: {m.affinity_cpus} of the {why}"
    return cpus, why


@functools.lru_cache(maxsize=256)
def cpu_power(cpu_tdp_w: float | None = None, cpu_model: str | None = None, host_threads: int | None = None,
              instance_type: str | None = None, m: Machine | None = None,
              power_model: str = "specpower") -> CpuPower:
    """The power model for these settings on machine ``m`` (this one by default); see the module docstring."""
    m = machine() if m is None else m
    inst, inst_why = None, "none (instance_type not set, none in DMI)"
    if instance_type is not None:
        inst, inst_why = data.instances()[data.instance_key(instance_type)], "configured (instance_type)"
    else:
        found = data.instances().get(data.instance_key(m.dmi_product)) if m.dmi_product else None
        if found is not None:
            inst, inst_why = found, f"DMI product_name {m.dmi_product!r} (/sys/class/dmi/id)"
    # an instance type is a guest of its host, unless it is a whole ".metal" host
    virtual = (m.virtual or inst is not None) and not (inst is not None and inst.instance_type.endswith("metal"))
    row, chip, chip_why = _chip(cpu_model, inst, m)
    tdp = cpu_tdp_w if cpu_tdp_w is not None else (row[1] if row is not None else None)
    name = row[0] if row is not None else None
    # hardware threads sharing one package's TDP
    if not virtual:
        threads, per = m.logical_cpus / m.sockets, f"{m.sockets} package(s) / {m.logical_cpus} logical CPUs"
    elif row is not None and row[3]:
        threads, per = float(row[3]), f"{row[3]} threads"
    elif host_threads is not None:
        threads, per = float(host_threads), f"{host_threads} host threads"
    else:
        threads, per = None, ""
    # the host's hardware threads (SCI's ToR)
    vm_host = int(data.defaults()["vm_host_threads"])
    if host_threads is not None:
        host, host_why = host_threads, "configured (host_threads)"
    elif inst is not None and inst.host_threads:
        host, host_why = inst.host_threads, f"host of {inst.instance_type} (frugal/data/instances.csv)"
    elif not virtual:
        host, host_why = m.logical_cpus, "bare metal: the logical CPUs the OS shows"
    elif row is not None and row[3]:
        host, host_why = row[3], f"one {row[0]} package ({row[3]} threads, frugal/data/cpus.csv)"
    else:
        host, host_why = vm_host, f"default for an unknown virtual machine host ({vm_host}, frugal/data/defaults.csv)"
    label = f"{inst.instance_type}: " if inst is not None and cpu_model is None else ""
    family = family_of(row, inst, cpu_model is None)
    coef = coefficients(family, inst.provider if inst is not None else DEFAULT_PROVIDER) if family else None
    what = f"{name}" if name is not None else f"CPU {chip!r}"
    rule = power_model
    if power_model == "specpower" and coef is not None and cpu_tdp_w is None:
        provider, (low, high, placeholder, origin) = coef
        watts = high - low
        flag = "; placeholder: CCF copies another family's figures" if placeholder else ""
        short = (f"{label}{what} ({family}): {watts:.4f} W per busy CPU = CCF {provider} max {high:.4f} "
                 f"- min {low:.4f} W per vCPU (SPECpower; {origin}{flag})")
    elif tdp is not None and threads is not None:
        rule = "tdp"
        origin = "configured" if cpu_tdp_w is not None else "table"
        watts = tdp * m.sockets / m.logical_cpus if not virtual else tdp / threads
        tdp_text = f"{tdp:g} W" if virtual else f"{tdp:g} W x"
        short = f"{label}{what}: {tdp_text} / {per} ({origin})" if virtual else f"{label}{what}: {tdp_text} {per} ({origin})"
        if power_model == "specpower":
            short += (" (TDP rule: cpu_tdp_w is set)" if cpu_tdp_w is not None else
                      " (TDP rule: the chip's family is unknown)" if family is None else
                      f" (TDP rule: no CCF coefficients for {family})")
    else:
        rule = "default"
        watts = data.defaults()["unknown_cpu_w_per_thread"]
        why = "TDP unknown" if tdp is None else "threads of the host chip unknown on a virtual machine"
        short = f"{label}{what}: default {watts:g} W per logical CPU ({why})"
    rr, rr_why = _reserved(inst, virtual, m)
    return CpuPower(m, name, chip_why, inst.instance_type if inst else None, inst_why, tdp,
                    None if threads is None else int(threads), host, host_why, watts, short, rule, family,
                    coef[1][0] if coef is not None else None, rr, rr_why)


# --- embodied carbon -------------------------------------------------------------------------
#
# ``M = TE x (wall_s / lifetime) x min(1, RR / host threads)``: RR = the CPUs reserved
# (``CpuPower.reserved_cpus``, SCI) or the threads used on average, ``cpu_s / wall_s`` (``usage``);
# ``frugal.energy.model`` applies it. TE and lifetime: the instance type's host (Cloud Carbon Footprint), else
# the presets (medians of Boavizta's product footprints, frugal/data/embodied.csv).

# SMBIOS chassis types (DMTF DSP0134, table 17) that are laptops or servers.
_LAPTOP_CHASSIS = {8, 9, 10, 14, 30, 31, 32}
_SERVER_CHASSIS = {17, 23, 25, 28, 29}


def detect_preset(sys_root: str = "/sys", proc_root: str = "/proc") -> tuple[str, str]:
    """(preset, why) for this machine: a battery says laptop; a server chassis or a hypervisor says server."""
    try:
        supplies = os.listdir(os.path.join(sys_root, "class", "power_supply"))
    except OSError:
        supplies = []
    if any(s.startswith("BAT") for s in supplies):
        return "laptop", "a battery is present (/sys/class/power_supply/BAT*)"
    try:
        chassis = int(_read(os.path.join(sys_root, "class", "dmi", "id", "chassis_type")).strip() or 0)
    except ValueError:
        chassis = 0
    if chassis in _LAPTOP_CHASSIS:
        return "laptop", f"SMBIOS chassis type {chassis} is portable"
    if chassis in _SERVER_CHASSIS:
        return "server", f"SMBIOS chassis type {chassis} is a server chassis"
    m = detect(proc_root, sys_root)
    if m.virtual:
        return "server", f"a virtual machine runs on a server ({m.virtual_source})"
    return "desktop", "no battery, no server chassis, no hypervisor"


@functools.lru_cache(maxsize=None)
def _auto_preset() -> tuple[str, str]:
    return detect_preset()


def _preset_for(m: Machine) -> tuple[str, str]:
    """The 'auto' preset of a machine given as facts (no battery or chassis known): server when virtual."""
    if m.virtual:
        return "server", f"a virtual machine runs on a server ({m.virtual_source})"
    return "desktop", "bare metal; no battery or chassis type given"


@dataclass(frozen=True)
class Embodied:
    """The embodied-carbon constants in force (SCI's TE and lifetime)."""

    preset: str             # laptop, desktop, server, or "instance"
    total_g: float          # TE of the whole host, gCO2e
    lifetime_years: float
    source: str


def embodied(preset: str, total_g: float | None, lifetime_years: float | None,
             instance_type: str | None = None, m: Machine | None = None) -> Embodied:
    """The constants for a setting: the instance's host (with ``preset='auto'``), else a preset
    (``'auto'``: detected on this machine, or told by ``m``), with TE and lifetime overrides."""
    inst = data.instances()[data.instance_key(instance_type)] if instance_type else None
    if preset == "auto" and inst is not None and inst.platform_te_g is not None and inst.lifetime_years:
        te, life, kind = inst.platform_te_g, inst.lifetime_years, "instance"
        origin = f"host of {inst.instance_type}, Cloud Carbon Footprint ({inst.source.split(';')[-1]})"
    else:
        why = ""
        if preset == "auto":
            preset, why = _auto_preset() if m is None else _preset_for(m)
            why = f"auto: {why}; "
        te, life, n = data.embodied_presets()[preset]
        kind = preset
        origin = f"{why}preset {preset!r}: median of {n} {preset}s in Boavizta's data"
    te_text = f"TE {total_g:g} g (configured)" if total_g is not None else f"TE {te / 1000:g} kg"
    life_text = f"lifetime {lifetime_years:g} y (configured)" if lifetime_years is not None else f"lifetime {life:g} y"
    return Embodied(kind, te if total_g is None else total_g, life if lifetime_years is None else lifetime_years,
                    f"{origin}: {te_text}, {life_text}")
