"""The ``dataoorts-magic`` command: ``serve`` the offline endpoint, or run the ``demo`` notebook.

Thin on purpose: the endpoint lives in ``offline/`` and the demo is an ordinary
notebook executed headless with nbclient against the offline endpoint.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def kernel_transport(socket_dir: str):
    """Config for the demo's kernel: IPC (Unix sockets in ``socket_dir``) where the platform has them.

    Over TCP without CurveZMQ keys ipykernel warns on stderr that its traffic is plain text,
    which is noise in a demo. Unix sockets in a private folder (``mkdtemp`` makes it 0700)
    reach no one else, and the kernel gives no warning. The socket path must be absolute:
    jupyter_client's default, ``kernel-ipc``, is relative, and the kernel runs in the
    notebook's folder. Windows has no IPC transport in ZeroMQ and keeps TCP."""
    from traitlets.config import Config

    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(socket_dir, "kernel")
    return config


def run_notebook(source: Path, out_dir: Path, *, timeout: int = 120) -> tuple[Path, Path]:
    """Execute ``source`` with the offline endpoint and write the executed copy and an HTML copy.

    Raises nbclient's CellExecutionError when a cell fails (a notebook is a test too).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(source, as_version=4)
    env = {**os.environ, "DATAOORTS_OFFLINE": "1"}
    env.pop("DATAOORTS_API_KEY", None)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dataoorts-kernel-") as socket_dir:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(source.parent)}},
            config=kernel_transport(socket_dir),
        )
        client.execute(env=env)
    executed = out_dir / source.name
    nbformat.write(nb, executed)
    body, _ = HTMLExporter().from_notebook_node(nb)
    html_copy = executed.with_suffix(".html")
    html_copy.write_text(body, encoding="utf-8")
    return executed, html_copy


def _demo(args) -> int:
    source = Path(args.notebook) if args.notebook else REPO_NOTEBOOKS / "quickstart.ipynb"
    if not source.exists():
        print(
            f"error: no notebook at {source}: pass --notebook PATH (the repo's notebooks/quickstart.ipynb).",
            file=sys.stderr,
        )
        return 2
    from nbclient.exceptions import CellExecutionError

    try:
        executed, html_copy = run_notebook(source, Path(args.out))
    except CellExecutionError as err:
        print(f"error: a cell of {source.name} failed:\n{err}", file=sys.stderr)
        return 1
    print(f"Ran {source.name} on the offline endpoint (no key, no network).")
    print(f"Executed notebook: {executed}")
    print(f"HTML copy:         {html_copy}")
    return 0


def _serve(args) -> int:
    from .offline.cli import serve_from_args

    serve_from_args(args)
    return 0


def _gateway(argv) -> int:
    try:
        from .gateway.cli import main as gateway_main
    except ImportError as exc:
        print(f"error: the gateway needs {exc.name}: pip install 'dataoorts-magic[gateway]'", file=sys.stderr)
        return 2
    return gateway_main(argv)


def build_parser() -> argparse.ArgumentParser:
    from .offline.cli import add_serve_arguments

    parser = argparse.ArgumentParser(prog="dataoorts-magic", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the offline endpoint (speaks the Dataoorts API on loopback)")
    add_serve_arguments(serve)
    serve.set_defaults(run=_serve)
    demo = commands.add_parser("demo", help="execute notebooks/quickstart.ipynb headless on the offline endpoint")
    demo.add_argument("--notebook", help="the notebook to run (default: the repo's notebooks/quickstart.ipynb)")
    demo.add_argument("--out", default="dataoorts-demo", help="folder for the executed notebook and its HTML copy")
    demo.set_defaults(run=_demo)
    commands.add_parser("gateway", help="the classroom gateway: `dataoorts-magic gateway --help`", add_help=False)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["gateway"]:  # imported only when asked for: it needs the [gateway] extra
        return _gateway(argv[1:])
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
