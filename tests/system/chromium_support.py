"""Headless Chromium for system tests: the command line that loads a page over
HTTPS from a server with the test certificate, in a throwaway profile."""

import base64
import hashlib
import shutil
import subprocess

from harness import TestFailure


def spki_pin(certificate):
    """The base64 SHA-256 of the public key of the first certificate in the PEM file `certificate`.
    Chromium has no flag to trust a CA file; it trusts a leaf key by this pin."""
    key = subprocess.run(["openssl", "x509", "-in", str(certificate), "-pubkey", "-noout"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=key, capture_output=True,
                         check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def command(profile, certificate, *options):
    """Chromium, headless, with a fresh profile at `profile` and the key of `certificate` trusted; then `options`
    (--screenshot=PNG, --window-size=W,H, --dump-dom, the URL...)."""
    chromium = shutil.which("chromium")
    if not chromium:
        raise TestFailure("chromium is not installed (scripts/setup installs it)")
    shutil.rmtree(profile, ignore_errors=True)
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
            f"--ignore-certificate-errors-spki-list={spki_pin(certificate)}", *options]
