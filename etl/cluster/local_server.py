"""A throwaway PostgreSQL server on a unix socket, for the equivalence tests and the benchmark.

initdb + pg_ctl from the Debian packages (/usr/lib/postgresql/<version>/bin) or PATH, in a
temporary folder, listening on a socket only (no TCP port to collide with), fsync off (the data
is thrown away). PostgreSQL refuses to run as root, so as root the server runs as user
`postgres`, which owns the folder. `stop` ends it and removes the folder.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import OsteoregError


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class LocalServer:
    root: Path
    socket_dir: Path
    port: int
    user: str
    bindir: Path
    run_as: list[str]

    @property
    def environment(self) -> dict[str, str]:
        return {"PGHOST": str(self.socket_dir), "PGPORT": str(self.port), "PGUSER": "postgres",
                "PGDATABASE": "osteoreg", "PGPASSWORD": ""}

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                        "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start(port: int = 55432) -> LocalServer:
    bindir = server_binaries()
    if bindir is None:
        raise OsteoregError("PostgreSQL's server (initdb, pg_ctl) is not installed; `apt-get install postgresql`.")
    root = Path(tempfile.mkdtemp(prefix="osteoreg-pg-server-"))
    run_as: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        user = "postgres"
        run_as = ["runuser", "-u", user, "--"]
        os.chmod(root, 0o755)
        shutil.chown(root, user=user)
    socket_dir = root / "socket"
    commands = [
        [str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "--no-sync",
         "-E", "UTF8", "--locale", "C"],
    ]
    try:
        subprocess.run([*run_as, "mkdir", "-p", str(socket_dir)], check=True, capture_output=True)
        for command in commands:
            subprocess.run([*run_as, *command], check=True, capture_output=True, text=True)
        options = (f"-k {socket_dir} -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c shared_buffers=128MB -c work_mem=32MB")
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options,
                        "-l", str(root / "server.log"), "-w", "start"], check=True, capture_output=True, text=True)
        subprocess.run([*run_as, str(bindir.parent / "bin" / "createdb") if (bindir / "createdb").exists()
                        else "createdb", "-h", str(socket_dir), "-p", str(port), "-U", "postgres", "osteoreg"],
                       check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(root, ignore_errors=True)
        raise OsteoregError(f"The throwaway PostgreSQL server did not start: {(error.stderr or '').strip()[:300]}") from error
    return LocalServer(root=root, socket_dir=socket_dir, port=port, user=user, bindir=bindir, run_as=run_as)


__all__ = ["LocalServer", "server_binaries", "start"]
