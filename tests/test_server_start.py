"""The app's server asks no one outside at start-up, even when it listens on every address
as the README says to open it to a network (Streamlit would look up the machine's public
IP at a public service to print an "External URL")."""

import socket
import subprocess
import sys
import threading
import time

from core.paths import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_up_banner(*options: str, within_s: float = 60) -> str:
    """What ``streamlit run app.py`` prints until it names its URL (the script itself only
    runs once a browser connects, so no database is opened)."""
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), *options]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout or []:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + within_s
        while not any("URL:" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
    return "".join(lines)


def test_listening_on_every_address_looks_up_no_public_ip():
    banner = start_up_banner("--server.address", "0.0.0.0", "--server.port", str(_free_port()))
    assert "URL:" in banner, banner  # it started and said where
    assert "External URL" not in banner and "external IP" not in banner, banner
