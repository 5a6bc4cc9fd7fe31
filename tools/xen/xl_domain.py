"""The xl domain file (xl.cfg(5)) of a Morgana PVH guest: the one generator of that
text, used by ./morgana (deploy --format xen, run --xen) and by the Xen system tests
(tests/system/xen_support.py). Standard library only."""


def xl_string(text):
    """A string in an xl domain file: xl reads backslash escapes in it (libxlu_cfg.c)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pvh_domain(name, kernel, memory, extra, mac=None, ramdisk=None, on_crash="preserve"):
    """The settings of PVH guest NAME, one a line: KERNEL (a path in dom0), MEMORY MiB, one
    vCPU, one network interface on bridge xenbr0 (with MAC, else xl picks one), EXTRA as the
    kernel's command line, RAMDISK if given; a crashed guest's domain stays for its logs
    (on_crash), unless told otherwise."""
    vif = "bridge=xenbr0" + (f",mac={mac}" if mac else "")
    lines = [f"name = {xl_string(name)}", 'type = "pvh"', f"kernel = {xl_string(str(kernel))}",
             f"memory = {memory}", "vcpus = 1", f'vif = [ "{vif}" ]', f"extra = {xl_string(extra)}",
             f"on_crash = {xl_string(on_crash)}"]
    if ramdisk:
        lines.append(f"ramdisk = {xl_string(str(ramdisk))}")
    return "\n".join(lines) + "\n"
