"""A throwaway PostgreSQL cluster for tests: Debian's binaries, a Unix socket in a temp folder, no TCP port.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(``runuser``), as E2E_NOTES.md describes; otherwise it runs as whoever we are.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid


def bin_dir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does it)")
    return os.path.dirname(found[-1])


class Cluster:
    """``start()`` a cluster; ``new_database()`` gives a fresh database's URL; ``stop()`` removes it all."""

    def __init__(self):
        self.bin = bin_dir()
        self.dir = tempfile.mkdtemp(prefix="dataoorts-pg-")
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bin, args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> Cluster:
        if self.as_root:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres")
        options = f"-k {self.dir} -c listen_addresses='' -c max_connections=200 -c fsync=off"
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-o", options, "-l", f"{self.dir}/log", "-w", "start")
        return self

    def new_database(self) -> str:
        """A new empty database; its URL as a user gives it (``postgresql://``, mapped by the gateway)."""
        import psycopg

        name = "gw_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host=self.dir, user="postgres", dbname="postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@/{name}?host={self.dir}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
